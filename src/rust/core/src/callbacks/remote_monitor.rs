//! `callback_remote_monitor()`: POSTs each epoch's logs as JSON to an HTTP server (Keras
//! `RemoteMonitor`). A server that cannot be reached gives a warning; training goes on.

use super::{Callback, Ctx, HookResult, Logs};
use crate::Real;
use serde::Deserialize;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteMonitorSpec {
    #[serde(default = "root")]
    pub root: String,
    #[serde(default = "path")]
    pub path: String,
    #[serde(default = "field")]
    pub field: String,
    #[serde(default)]
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub send_as_json: bool,
}

fn root() -> String {
    "http://localhost:9000".into()
}
fn path() -> String {
    "/publish/epoch/end/".into()
}
fn field() -> String {
    "data".into()
}

pub struct RemoteMonitor {
    spec: RemoteMonitorSpec,
}

impl RemoteMonitor {
    pub fn new(spec: RemoteMonitorSpec) -> Self {
        RemoteMonitor { spec }
    }
}

/// `{"epoch": 3, "loss": 0.1, ...}`; non-finite values as JSON strings, like Python's `NaN`
/// would be invalid JSON.
pub fn epoch_json(epoch: usize, logs: &Logs) -> String {
    let mut m = serde_json::Map::new();
    m.insert("epoch".into(), epoch.into());
    for (k, v) in logs.iter() {
        let val = serde_json::Number::from_f64(v).map_or_else(|| serde_json::Value::String(v.to_string()), Into::into);
        m.insert(k.into(), val);
    }
    serde_json::Value::Object(m).to_string()
}

fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends one HTTP/1.1 POST and returns the status code.
fn post(url: &str, headers: &[(String, String)], content_type: &str, body: &str) -> Result<u16, String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs are supported")?;
    let (hostport, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let addr = if hostport.contains(':') { hostport.to_string() } else { format!("{hostport}:80") };
    let sock = addr.to_socket_addrs().map_err(|e| e.to_string())?.next().ok_or("no address")?;
    let mut s = TcpStream::connect_timeout(&sock, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| "no HTTP response".to_string())
}

impl<T: Real> Callback<T> for RemoteMonitor {
    fn on_epoch_end(&mut self, cx: &mut Ctx<T>, epoch: usize, logs: &mut Logs) -> HookResult {
        let json = epoch_json(epoch, logs);
        let url = format!("{}{}", self.spec.root, self.spec.path);
        let headers: Vec<(String, String)> =
            self.spec.headers.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
        let sent = if self.spec.send_as_json {
            post(&url, &headers, "application/json", &json)
        } else {
            let body = format!("{}={}", form_escape(&self.spec.field), form_escape(&json));
            post(&url, &headers, "application/x-www-form-urlencoded", &body)
        };
        if let Err(e) = sent {
            cx.host.warn(&format!("could not reach RemoteMonitor root server at {} ({e})", self.spec.root));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn posts_form_encoded_and_json_bodies() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for _ in 0..2 {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).unwrap();
                bodies.push(String::from_utf8_lossy(&buf[..n]).to_string());
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").unwrap();
            }
            bodies
        });
        let logs = Logs::sorted(vec![("loss".to_string(), 0.5), ("val_loss".to_string(), 0.25)]);
        let url = format!("http://127.0.0.1:{port}/publish/epoch/end/");
        let body = format!("data={}", form_escape(&epoch_json(2, &logs)));
        assert_eq!(post(&url, &[], "application/x-www-form-urlencoded", &body).unwrap(), 200);
        assert_eq!(post(&url, &[("X-A".into(), "b".into())], "application/json", &epoch_json(3, &logs)).unwrap(), 200);
        let got = server.join().unwrap();
        assert!(got[0].starts_with("POST /publish/epoch/end/ HTTP/1.1\r\n"));
        assert!(
            got[0].ends_with("data=%7B%22epoch%22%3A2%2C%22loss%22%3A0.5%2C%22val_loss%22%3A0.25%7D"),
            "{}",
            got[0]
        );
        assert!(got[1].contains("X-A: b\r\n"));
        assert!(got[1].ends_with(r#"{"epoch":3,"loss":0.5,"val_loss":0.25}"#));
    }

    #[test]
    fn an_unreachable_server_is_an_error_value_not_a_panic() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        assert!(post(&format!("http://127.0.0.1:{port}/x"), &[], "text/plain", "").is_err());
        assert!(post("https://example.org/x", &[], "text/plain", "").unwrap_err().contains("only http"));
    }
}

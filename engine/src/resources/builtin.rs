//! Built-in functions, stand-ins for the Lambdas of the load generators we mirror: their
//! behaviour as ../shared/seeds-asl/README.md describes it, written here.

use super::client::Outgoing;
use super::functions::FunctionError;
use super::http::HttpTask;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};

/// Every built-in, by the name a resources file gives it.
pub const NAMES: &[&str] = &[
    "pizza.generateOrders",
    "http.sendRequest",
    "loadtest.timer",
    "echo",
];

pub async fn call(name: &str, payload: &Value, http: &HttpTask) -> Result<Value, FunctionError> {
    match name {
        "pizza.generateOrders" => Ok(generate_orders(payload)),
        "http.sendRequest" => send_request(payload, http).await,
        "echo" => Ok(payload.clone()),
        "loadtest.timer" => Ok(load_timer(payload, chrono::Utc::now().timestamp_millis())),
        other => Err(FunctionError::new(
            "Runtime.InvalidEntrypoint",
            format!("no built-in function {other:?}"),
        )),
    }
}

const SIZES: &[&str] = &["small", "medium", "large", "x-large"];
const CRUSTS: &[&str] = &["thin", "hand-tossed", "deep dish"];
const SAUCES: &[&str] = &["tomato", "alfredo", "pesto", "bbq"];
const TOPPINGS: &[&str] = &[
    "cheese",
    "pepperoni",
    "sausage",
    "olives",
    "peppers",
    "mushrooms",
    "onions",
    "anchovies",
    "chicken",
];

/// `{numOrders}` → `{orders: [{items: [pizza, ...]}, ...]}`: 0–5 random pizzas per order, each
/// with a random size, crust, sauce and 0–8 distinct toppings.
pub fn generate_orders(payload: &Value) -> Value {
    let n = payload
        .get("numOrders")
        .and_then(|n| n.as_u64())
        .unwrap_or(1)
        .min(1000);
    let mut rng = rand::thread_rng();
    let orders: Vec<Value> = (0..n)
        .map(|_| {
            let items: Vec<Value> = (0..rng.gen_range(0..=5))
                .map(|_| {
                    let count = rng.gen_range(0..=8);
                    let toppings: Vec<&str> =
                        TOPPINGS.choose_multiple(&mut rng, count).copied().collect();
                    json!({
                        "size": SIZES.choose(&mut rng),
                        "crust": CRUSTS.choose(&mut rng),
                        "sauce": SAUCES.choose(&mut rng),
                        "toppings": toppings,
                    })
                })
                .collect();
            json!({ "items": items })
        })
        .collect();
    json!({ "orders": orders })
}

/// `{request: {method, baseUrl, body?, headers?}, iterations?, discardResults?}`: the call made
/// `iterations` times; below 500 is success (4xx bodies are returned), 500 and above throws.
pub async fn send_request(payload: &Value, http: &HttpTask) -> Result<Value, FunctionError> {
    let req = payload
        .get("request")
        .ok_or_else(|| FunctionError::new("TypeError", "the event has no \"request\""))?;
    let method = req.get("method").and_then(|m| m.as_str()).unwrap_or("GET");
    let url = req
        .get("baseUrl")
        .and_then(|u| u.as_str())
        .ok_or_else(|| FunctionError::new("TypeError", "request.baseUrl is missing"))?;
    let iterations = payload
        .get("iterations")
        .and_then(|i| i.as_u64())
        .unwrap_or(1)
        .clamp(1, 10_000);
    let discard = payload
        .get("discardResults")
        .and_then(|d| d.as_bool())
        .unwrap_or(false);
    let method = hyper::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| FunctionError::new("TypeError", format!("bad method {method:?}")))?;
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| FunctionError::new("TypeError", format!("bad baseUrl {url:?}: {e}")))?;
    let mut bodies = Vec::new();
    for _ in 0..iterations {
        let mut r = Outgoing::new(method.clone(), parsed.clone());
        if let Some(h) = req.get("headers").and_then(|h| h.as_object()) {
            for (k, v) in h {
                let v = v
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string());
                r.header(k, &v)
                    .map_err(|e| FunctionError::new("TypeError", e))?;
            }
        }
        if let Some(body) = req.get("body") {
            r.header("content-type", "application/json")
                .map_err(|e| FunctionError::new("TypeError", e))?;
            r.body = Some(body.to_string().into());
        }
        let resp =
            http.client().send(r).await.map_err(|e| {
                FunctionError::new("Error", format!("request to {url} failed: {e}"))
            })?;
        let status = resp.status.as_u16();
        let bytes = resp.body;
        if status >= 500 {
            return Err(FunctionError::new(
                "Error",
                format!("Request failed with status code {status}"),
            ));
        }
        let body = serde_json::from_slice::<Value>(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if !discard {
            bodies.push(body);
        }
    }
    Ok(if iterations == 1 && !discard {
        bodies.pop().unwrap_or(Value::Null)
    } else if discard {
        json!({"success": true})
    } else {
        Value::Array(bodies)
    })
}

/// The step-functions-load-testing timer: `{timer}` in, `{timer, items}` out. The ramp raises
/// `currentConcurrency` by `step` (targetConcurrency / rampUpDuration, rounded) once a minute;
/// `continue` stays true for `rampUpDuration` (else `duration`) minutes from `start`; `items`
/// holds `currentConcurrency` ones (or `targetConcurrency` when that is unset). The quirks of the
/// original are kept: in the hold phase `step` is not a number (`null`).
pub fn load_timer(payload: &Value, now_ms: i64) -> Value {
    let t = payload.get("timer").cloned().unwrap_or(json!({}));
    let num = |k: &str| t.get(k).and_then(|v| v.as_f64());
    let target = num("targetConcurrency").unwrap_or(0.0);
    let start = num("start").unwrap_or(now_ms as f64);
    let ramp = num("rampUpDuration");
    let step = ramp.map(|r| (target / r).round()).filter(|s| s.is_finite());
    let first = t.get("stepTimer").is_none();
    let mut current = num("currentConcurrency").or(step).unwrap_or(0.0);
    let mut step_timer = num("stepTimer").unwrap_or(now_ms as f64);
    if !first && now_ms as f64 - step_timer > 60_000.0 {
        current += step.unwrap_or(f64::NAN);
        step_timer = now_ms as f64;
    }
    let minutes = ramp.or(num("duration")).unwrap_or(0.0);
    let cont = start + minutes * 60_000.0 > now_ms as f64;
    let count = if current.is_finite() && current > 0.0 {
        current
    } else {
        target
    };
    let mut timer = t.clone();
    timer["start"] = json!(start as i64);
    timer["step"] = step.map(|s| json!(s as i64)).unwrap_or(Value::Null);
    timer["currentConcurrency"] = if current.is_finite() {
        json!(current as i64)
    } else {
        Value::Null
    };
    timer["stepTimer"] = json!(step_timer as i64);
    timer["continue"] = json!(cont);
    json!({"timer": timer, "items": vec![1; count.clamp(0.0, 10_000.0) as usize]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_timer_ramps_once_a_minute_then_stops() {
        let t0 = 1_000_000_000_000;
        let v = load_timer(
            &json!({"timer": {"rampUpDuration": 2, "targetConcurrency": 10}}),
            t0,
        );
        assert_eq!(v["timer"]["step"], 5);
        assert_eq!(v["items"].as_array().unwrap().len(), 5);
        assert_eq!(v["timer"]["continue"], true);
        let v = load_timer(&json!({"timer": v["timer"]}), t0 + 61_000);
        assert_eq!(v["items"].as_array().unwrap().len(), 10);
        let v = load_timer(&json!({"timer": v["timer"]}), t0 + 121_000);
        assert_eq!(v["timer"]["continue"], false);
        // The hold phase: no rampUpDuration, so no step; items fall back to the target.
        let v = load_timer(
            &json!({"timer": {"duration": 1, "targetConcurrency": 4}}),
            t0,
        );
        assert_eq!(v["timer"]["step"], Value::Null);
        assert_eq!(v["items"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn generated_orders_follow_the_pizza_schema() {
        let v = generate_orders(&json!({"numOrders": 50}));
        let orders = v["orders"].as_array().unwrap();
        assert_eq!(orders.len(), 50);
        for o in orders {
            let items = o["items"].as_array().unwrap();
            assert!(items.len() <= 5);
            for p in items {
                assert!(SIZES.contains(&p["size"].as_str().unwrap()));
                assert!(CRUSTS.contains(&p["crust"].as_str().unwrap()));
                assert!(SAUCES.contains(&p["sauce"].as_str().unwrap()));
                let t: Vec<&str> = p["toppings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap())
                    .collect();
                assert!(t.len() <= 8 && t.iter().all(|x| TOPPINGS.contains(x)));
                let mut d = t.clone();
                d.dedup();
                assert_eq!(d.len(), t.len());
            }
        }
    }
}

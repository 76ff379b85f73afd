//! Built-in functions, stand-ins for the Lambdas of the load generators we mirror: their
//! behaviour as ../shared/seeds-asl/README.md describes it, written here.

use super::functions::FunctionError;
use super::http::HttpTask;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};

/// Every built-in, by the name a resources file gives it.
pub const NAMES: &[&str] = &["pizza.generateOrders", "http.sendRequest", "echo"];

pub async fn call(name: &str, payload: &Value, http: &HttpTask) -> Result<Value, FunctionError> {
    match name {
        "pizza.generateOrders" => Ok(generate_orders(payload)),
        "http.sendRequest" => send_request(payload, http).await,
        "echo" => Ok(payload.clone()),
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
    let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| FunctionError::new("TypeError", format!("bad method {method:?}")))?;
    let mut bodies = Vec::new();
    for _ in 0..iterations {
        let mut r = http.client().request(method.clone(), url);
        if let Some(h) = req.get("headers").and_then(|h| h.as_object()) {
            for (k, v) in h {
                r = r.header(
                    k.as_str(),
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string()),
                );
            }
        }
        if let Some(body) = req.get("body") {
            r = r
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let resp = r
            .send()
            .await
            .map_err(|e| FunctionError::new("Error", format!("request to {url} failed: {e}")))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| FunctionError::new("Error", format!("reading {url}: {e}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;

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

//! Evaluates a processed AST: paths and tuple streams, operators, constructors, grouping,
//! sorting, function application with tail calls, transforms, and the depth/time guards.

use super::error::{Error, Result};
use super::functions;
use super::parser::{BinOp, Group, Kind, Node, SortTerm, Stage};
use super::value::*;
use super::{Functions, Limits};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// A scope of variable bindings.
pub struct Frame {
    vars: RefCell<Vec<(Arc<str>, Value)>>,
    parent: Option<Rc<Frame>>,
}

impl Frame {
    pub fn root() -> Rc<Frame> {
        Rc::new(Frame {
            vars: RefCell::new(Vec::new()),
            parent: None,
        })
    }
    pub fn child(parent: &Rc<Frame>) -> Rc<Frame> {
        Rc::new(Frame {
            vars: RefCell::new(Vec::new()),
            parent: Some(parent.clone()),
        })
    }
    pub fn bind(&self, name: Arc<str>, v: Value) {
        let mut vars = self.vars.borrow_mut();
        if let Some(slot) = vars.iter_mut().find(|(k, _)| **k == *name) {
            slot.1 = v;
        } else {
            vars.push((name, v));
        }
    }
    pub fn lookup(&self, name: &str) -> Option<Value> {
        let mut f = self;
        loop {
            if let Some((_, v)) = f.vars.borrow().iter().find(|(k, _)| &**k == name) {
                return Some(v.clone());
            }
            match &f.parent {
                Some(p) => f = p,
                None => return None,
            }
        }
    }
}

/// Default nesting limit when the caller sets none (jsonata-js would overflow its stack).
const DEFAULT_MAX_DEPTH: usize = 10_000;

pub struct Evaluator<'h> {
    depth: usize,
    max_depth: usize,
    start: Instant,
    time_limit: Option<std::time::Duration>,
    ticks: u32,
    pub host: &'h Functions,
    /// Milliseconds since the epoch at the start of evaluation ($now, $millis).
    pub now_millis: i64,
}

fn tuple_get(t: &Value, key: &str) -> Value {
    match t {
        Value::Object(o) => o.get(key).cloned().unwrap_or_default(),
        _ => Value::Undefined,
    }
}

fn frame_from_tuple(env: &Rc<Frame>, t: &Value) -> Rc<Frame> {
    let f = Frame::child(env);
    if let Value::Object(o) = t {
        let mut vars = f.vars.borrow_mut();
        for (k, v) in o.iter() {
            vars.push((Arc::from(k.as_str()), v.clone()));
        }
    }
    f
}

/// jsonata's `fn.append`: concatenation giving a plain array (flags dropped).
pub fn append(a: Value, b: Value) -> Value {
    if a.is_undefined() {
        return b;
    }
    if b.is_undefined() {
        return a;
    }
    let mut items = match a {
        Value::Array(arr) => match Rc::try_unwrap(arr) {
            Ok(mut owned) => std::mem::take(&mut owned.items),
            Err(shared) => shared.items.clone(),
        },
        other => vec![other],
    };
    match b {
        Value::Array(arr) => match Rc::try_unwrap(arr) {
            Ok(mut owned) => items.append(&mut owned.items),
            Err(shared) => items.extend(shared.items.iter().cloned()),
        },
        other => items.push(other),
    }
    Value::array(items)
}

/// jsonata's `fn.lookup`: field access mapped over arrays.
pub fn lookup(input: &Value, key: &str) -> Value {
    match input {
        Value::Array(a) => {
            let mut out = Vec::new();
            for item in a.items.iter() {
                let r = stacker::maybe_grow(32 * 1024, 1024 * 1024, || lookup(item, key));
                match r {
                    Value::Undefined => {}
                    Value::Array(ra) => out.extend(ra.items.iter().cloned()),
                    v => out.push(v),
                }
            }
            Value::seq(out)
        }
        Value::Object(o) => o.get(key).cloned().unwrap_or_default(),
        _ => Value::Undefined,
    }
}

fn flatten_into(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(a) => {
            for item in a.items.iter() {
                stacker::maybe_grow(32 * 1024, 1024 * 1024, || flatten_into(item, out));
            }
        }
        other => out.push(other.clone()),
    }
}

fn descendants(v: &Value, out: &mut Vec<Value>) {
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || match v {
        Value::Array(a) => a.items.iter().for_each(|m| descendants(m, out)),
        Value::Object(o) => {
            out.push(v.clone());
            o.values().for_each(|m| descendants(m, out));
        }
        Value::Undefined => {}
        other => out.push(other.clone()),
    })
}

fn is_integer(v: &Value) -> bool {
    matches!(v, Value::Number(n) if n.is_finite() && n.fract() == 0.0)
}

impl<'h> Evaluator<'h> {
    pub fn new(host: &'h Functions, limits: &Limits) -> Evaluator<'h> {
        let now_millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Evaluator {
            depth: 0,
            max_depth: limits.max_depth.unwrap_or(DEFAULT_MAX_DEPTH),
            start: Instant::now(),
            time_limit: limits.time_limit,
            ticks: 0,
            host,
            now_millis,
        }
    }

    fn check_time(&mut self) -> Result<()> {
        if let Some(limit) = self.time_limit {
            if self.start.elapsed() > limit {
                return Err(Error::msg(
                    "U1001",
                    "Expression evaluation timeout: Check for infinite loop",
                ));
            }
        }
        Ok(())
    }

    /// Periodic time check for long-running loops inside functions.
    pub fn tick(&mut self) -> Result<()> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(1024) {
            self.check_time()?;
        }
        Ok(())
    }

    pub fn eval(&mut self, node: &Node, input: &Value, env: &Rc<Frame>) -> Result<Value> {
        self.depth += 1;
        if self.depth > self.max_depth {
            self.depth -= 1;
            return Err(Error::new("U1001"));
        }
        if let Err(e) = self.tick() {
            self.depth -= 1;
            return Err(e);
        }
        let r = stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || {
            self.eval_full(node, input, env)
        });
        self.depth -= 1;
        r
    }

    fn eval_full(&mut self, node: &Node, input: &Value, env: &Rc<Frame>) -> Result<Value> {
        let mut result = self.eval_inner(node, input, env)?;
        for stage in node.predicate.iter() {
            if let Stage::Filter(pred) = stage {
                result = self.eval_filter(pred, result, env)?;
            }
        }
        if !node.is_path() {
            if let Some(g) = &node.group {
                result = self.eval_group(g, result, env)?;
            }
        }
        if let Value::Array(a) = &result {
            if a.is_sequence() && !a.has(TUPLE_STREAM) {
                if node.keep_array {
                    a.set(KEEP_SINGLETON);
                }
                if a.items.is_empty() {
                    return Ok(Value::Undefined);
                }
                if a.items.len() == 1 && !a.has(KEEP_SINGLETON) {
                    return Ok(a.items[0].clone());
                }
            }
        }
        Ok(result)
    }

    fn eval_inner(&mut self, node: &Node, input: &Value, env: &Rc<Frame>) -> Result<Value> {
        match &node.kind {
            Kind::Path(steps) => self.eval_path(node, steps, input, env),
            Kind::Binary(op, l, r) => self.eval_binary(node, *op, l, r, input, env),
            Kind::Neg(e) => {
                let v = self.eval(e, input, env)?;
                match v {
                    Value::Undefined => Ok(Value::Undefined),
                    Value::Number(n) if !n.is_nan() => {
                        if n.is_infinite() {
                            return Err(Error::new("D1001").val(js_number(n)).at(node.pos));
                        }
                        Ok(Value::Number(-n))
                    }
                    other => Err(Error::new("D1002")
                        .tok("-")
                        .val(describe(&other))
                        .at(node.pos)),
                }
            }
            Kind::Array(items) => {
                let mut result: Vec<Value> = Vec::new();
                for item in items {
                    let v = self.eval(item, input, env)?;
                    if v.is_undefined() {
                        continue;
                    }
                    if matches!(item.kind, Kind::Array(_)) {
                        result.push(v);
                    } else {
                        match v {
                            Value::Array(a) => match Rc::try_unwrap(a) {
                                Ok(mut owned) => result.append(&mut owned.items),
                                Err(shared) => result.extend(shared.items.iter().cloned()),
                            },
                            other => result.push(other),
                        }
                    }
                }
                Ok(Value::array_flags(
                    result,
                    if node.consarray { CONS } else { 0 },
                ))
            }
            Kind::Object(g) => self.eval_group(g, input.clone(), env),
            Kind::Name(n) => Ok(lookup(input, n)),
            Kind::Str(s) => Ok(Value::String(Rc::from(&**s))),
            Kind::Num(n) => Ok(Value::Number(*n)),
            Kind::Bool(b) => Ok(Value::Bool(*b)),
            Kind::Null => Ok(Value::Null),
            Kind::Wildcard => {
                let mut inp = input;
                if let Value::Array(a) = input {
                    if a.has(OUTER_WRAPPER) && !a.items.is_empty() {
                        inp = &a.items[0];
                    }
                }
                let mut results = Vec::new();
                let mut is_seq = true;
                let values: Vec<&Value> = match inp {
                    Value::Object(o) => o.values().collect(),
                    Value::Array(a) => a.items.iter().collect(),
                    _ => Vec::new(),
                };
                for v in values {
                    if v.is_array() {
                        flatten_into(v, &mut results);
                        is_seq = false;
                    } else {
                        results.push(v.clone());
                    }
                }
                Ok(if is_seq {
                    Value::seq(results)
                } else {
                    Value::array(results)
                })
            }
            Kind::Descendant => {
                if input.is_undefined() {
                    return Ok(Value::Undefined);
                }
                let mut out = Vec::new();
                descendants(input, &mut out);
                if out.len() == 1 {
                    Ok(out.pop().unwrap_or_default())
                } else {
                    Ok(Value::seq(out))
                }
            }
            Kind::Parent(_) => Ok(node
                .label
                .as_ref()
                .and_then(|l| env.lookup(l))
                .unwrap_or_default()),
            Kind::Variable(name) => {
                if name.is_empty() {
                    if let Value::Array(a) = input {
                        if a.has(OUTER_WRAPPER) {
                            return Ok(a.items.first().cloned().unwrap_or_default());
                        }
                    }
                    return Ok(input.clone());
                }
                Ok(self.lookup_var(env, name))
            }
            Kind::Regex(def) => Ok(Value::func(Func::Regex(Rc::new(RegexVal {
                re: def.re.clone(),
                source: def.source.clone(),
            })))),
            Kind::Condition(c, t, e) => {
                let cond = self.eval(c, input, env)?;
                if truthy(&cond) == Some(true) {
                    self.eval(t, input, env)
                } else if let Some(e) = e {
                    self.eval(e, input, env)
                } else {
                    Ok(Value::Undefined)
                }
            }
            Kind::Block(exprs) => {
                let frame = Frame::child(env);
                let mut result = Value::Undefined;
                for e in exprs {
                    result = self.eval(e, input, &frame)?;
                }
                Ok(result)
            }
            Kind::Bind(name, rhs) => {
                let v = self.eval(rhs, input, env)?;
                env.bind(name.clone(), v.clone());
                Ok(v)
            }
            Kind::Function { proc, args } => self.eval_function(node, proc, args, input, env, None),
            Kind::Partial { proc, args } => {
                let mut evargs = Vec::with_capacity(args.len());
                for a in args {
                    evargs.push(match a {
                        Some(a) => Some(self.eval(a, input, env)?),
                        None => None,
                    });
                }
                let p = self.eval(proc, input, env)?;
                if p.is_undefined() {
                    if let Some(n) = path_name(proc) {
                        if self.lookup_var(env, n).is_defined() {
                            return Err(Error::new("T1007").tok(n).at(node.pos));
                        }
                    }
                }
                if !p.is_func() {
                    return Err(Error::new("T1008").tok(proc_name(proc)).at(node.pos));
                }
                Ok(Value::func(Func::Partial {
                    target: p,
                    args: evargs,
                }))
            }
            Kind::Lambda(def) => Ok(Value::func(Func::Lambda(Lambda {
                def: def.clone(),
                input: input.clone(),
                env: env.clone(),
            }))),
            Kind::Apply(l, r) => {
                let lhs = self.eval(l, input, env)?;
                if let Kind::Function { proc, args } = &r.kind {
                    return self.eval_function(r, proc, args, input, env, Some(lhs));
                }
                let func = self.eval(r, input, env)?;
                if !func.is_func() {
                    return Err(Error::new("T2006").val(describe(&func)).at(node.pos));
                }
                if lhs.is_func() {
                    return Ok(Value::func(Func::Chain(lhs, func)));
                }
                self.apply(&func, vec![lhs], &Value::Null)
            }
            Kind::Transform(def) => Ok(Value::func(Func::Transform {
                def: def.clone(),
                env: env.clone(),
            })),
            Kind::Sort(terms) => self.eval_sort(node, terms, input, env),
            Kind::Placeholder => Ok(Value::Undefined),
        }
    }

    pub fn lookup_var(&self, env: &Rc<Frame>, name: &str) -> Value {
        if let Some(v) = env.lookup(name) {
            return v;
        }
        if let Some(h) = self.host.get(name) {
            return Value::func(Func::Host(h.clone()));
        }
        if let Some(b) = functions::builtin(name) {
            return Value::func(Func::Builtin(b));
        }
        Value::Undefined
    }

    // ----- paths -------------------------------------------------------------------------

    fn eval_path(
        &mut self,
        node: &Node,
        steps: &[Node],
        input: &Value,
        env: &Rc<Frame>,
    ) -> Result<Value> {
        let first_is_var = matches!(steps.first().map(|s| &s.kind), Some(Kind::Variable(_)));
        let mut input_seq = if input.is_array() && !first_is_var {
            input.clone()
        } else {
            Value::seq(vec![input.clone()])
        };
        let mut result_seq = Value::Undefined;
        let mut is_tuple = false;
        let mut tuples: Option<Vec<Value>> = None;
        for (ii, step) in steps.iter().enumerate() {
            if step.tuple {
                is_tuple = true;
            }
            if ii == 0 && step.consarray {
                result_seq = self.eval(step, &input_seq, env)?;
            } else if is_tuple {
                tuples = Some(self.eval_tuple_step(step, &input_seq, tuples.take(), env)?);
            } else {
                result_seq = self.eval_step(step, &input_seq, env, ii == steps.len() - 1)?;
            }
            if !is_tuple {
                let empty = match &result_seq {
                    Value::Undefined => true,
                    Value::Array(a) => a.items.is_empty(),
                    _ => false,
                };
                if empty {
                    break;
                }
            }
            if step.focus.is_none() {
                input_seq = result_seq.clone();
            }
        }
        let mut tuples_for_group = Vec::new();
        if is_tuple {
            let ts = tuples.unwrap_or_default();
            if node.group.is_some() {
                tuples_for_group = ts.clone();
            }
            if node.tuple {
                result_seq = Value::array_flags(ts, SEQUENCE | TUPLE_STREAM);
            } else {
                result_seq = Value::seq(ts.iter().map(|t| tuple_get(t, "@")).collect());
            }
        }
        if node.keep_singleton_array {
            if let Value::Array(a) = &result_seq {
                if a.has(CONS) && !a.is_sequence() {
                    result_seq = Value::seq(vec![result_seq.clone()]);
                }
            }
            if let Value::Array(a) = &result_seq {
                a.set(KEEP_SINGLETON);
            }
        }
        if let Some(g) = &node.group {
            let grouped_input = if is_tuple {
                Value::array_flags(tuples_for_group, SEQUENCE | TUPLE_STREAM)
            } else {
                result_seq
            };
            result_seq = self.eval_group(g, grouped_input, env)?;
        }
        Ok(result_seq)
    }

    fn eval_step(
        &mut self,
        step: &Node,
        input: &Value,
        env: &Rc<Frame>,
        last: bool,
    ) -> Result<Value> {
        if let Kind::Sort(terms) = &step.kind {
            let mut result = self.eval_sort(step, terms, input, env)?;
            if !step.stages.is_empty() {
                result = self.eval_stages(&step.stages, result, env)?;
            }
            return Ok(result);
        }
        let mut results: Vec<Value> = Vec::new();
        for item in input.members().iter() {
            let mut res = self.eval(step, item, env)?;
            for stage in step.stages.iter() {
                if let Stage::Filter(pred) = stage {
                    res = self.eval_filter(pred, res, env)?;
                }
            }
            if res.is_defined() {
                results.push(res);
            }
        }
        if last && results.len() == 1 {
            if let Value::Array(a) = &results[0] {
                if !a.is_sequence() {
                    return Ok(results.pop().unwrap_or_default());
                }
            }
        }
        let mut out = Vec::with_capacity(results.len());
        for res in results {
            match res {
                Value::Array(a) if !a.has(CONS) => match Rc::try_unwrap(a) {
                    Ok(mut owned) => out.append(&mut owned.items),
                    Err(shared) => out.extend(shared.items.iter().cloned()),
                },
                other => out.push(other),
            }
        }
        Ok(Value::seq(out))
    }

    fn eval_tuple_step(
        &mut self,
        step: &Node,
        input: &Value,
        tuples: Option<Vec<Value>>,
        env: &Rc<Frame>,
    ) -> Result<Vec<Value>> {
        if let Kind::Sort(terms) = &step.kind {
            let result = match tuples {
                Some(tb) => {
                    let sorted = self.eval_sort(
                        step,
                        terms,
                        &Value::array_flags(tb, SEQUENCE | TUPLE_STREAM),
                        env,
                    )?;
                    sorted.members().to_vec()
                }
                None => {
                    let sorted = self.eval_sort(step, terms, input, env)?;
                    let mut out = Vec::new();
                    for (i, item) in sorted.members().iter().enumerate() {
                        let mut m = Map::new();
                        m.insert("@".into(), item.clone());
                        if let Some(ix) = &step.index {
                            m.insert(ix.to_string(), Value::Number(i as f64));
                        }
                        out.push(Value::object(m));
                    }
                    out
                }
            };
            return self.tuple_stages(&step.stages, result, env);
        }
        let tb = match tuples {
            Some(t) => t,
            None => input
                .members()
                .iter()
                .map(|item| {
                    let mut m = Map::new();
                    m.insert("@".into(), item.clone());
                    Value::object(m)
                })
                .collect(),
        };
        let mut result = Vec::new();
        for t in tb.iter() {
            let step_env = frame_from_tuple(env, t);
            let at = tuple_get(t, "@");
            let res = self.eval(step, &at, &step_env)?;
            if res.is_undefined() {
                continue;
            }
            let is_ts = res.has_flag(TUPLE_STREAM);
            let items: Vec<Value> = match &res {
                Value::Array(a) => a.items.clone(),
                other => vec![other.clone()],
            };
            let base = match t {
                Value::Object(o) => o.0.clone(),
                _ => Map::new(),
            };
            for (bb, item) in items.into_iter().enumerate() {
                let mut tuple = base.clone();
                if is_ts {
                    if let Value::Object(o) = &item {
                        for (k, v) in o.iter() {
                            tuple.insert(k.clone(), v.clone());
                        }
                    }
                } else {
                    if let Some(f) = &step.focus {
                        tuple.insert(f.to_string(), item);
                        tuple.insert("@".into(), at.clone());
                    } else {
                        tuple.insert("@".into(), item);
                    }
                    if let Some(ix) = &step.index {
                        tuple.insert(ix.to_string(), Value::Number(bb as f64));
                    }
                    if let Some(label) = &step.label {
                        tuple.insert(label.to_string(), at.clone());
                    }
                }
                result.push(Value::object(tuple));
            }
        }
        self.tuple_stages(&step.stages, result, env)
    }

    /// Applies a step's stages (filters, sorts) to its tuple stream.
    fn tuple_stages(
        &mut self,
        stages: &[Stage],
        result: Vec<Value>,
        env: &Rc<Frame>,
    ) -> Result<Vec<Value>> {
        if stages.is_empty() {
            return Ok(result);
        }
        let r = self.eval_stages(
            stages,
            Value::array_flags(result, SEQUENCE | TUPLE_STREAM),
            env,
        )?;
        Ok(r.members().to_vec())
    }

    fn eval_stages(&mut self, stages: &[Stage], input: Value, env: &Rc<Frame>) -> Result<Value> {
        let mut result = input;
        for stage in stages {
            match stage {
                Stage::Filter(pred) => result = self.eval_filter(pred, result, env)?,
                Stage::Index(name) => {
                    if let Value::Array(a) = &result {
                        let flags = a.flags.get();
                        let mut items = a.items.clone();
                        for (i, t) in items.iter_mut().enumerate() {
                            if let Value::Object(o) = t {
                                Rc::make_mut(o).insert(name.to_string(), Value::Number(i as f64));
                            }
                        }
                        result = Value::array_flags(items, flags);
                    }
                }
            }
        }
        Ok(result)
    }

    fn eval_filter(&mut self, pred: &Node, input: Value, env: &Rc<Frame>) -> Result<Value> {
        let ts = input.has_flag(TUPLE_STREAM);
        let flags = SEQUENCE | if ts { TUPLE_STREAM } else { 0 };
        let items: Vec<Value> = match &input {
            Value::Array(a) => a.items.iter().filter(|v| v.is_defined()).cloned().collect(),
            Value::Undefined => Vec::new(),
            other => vec![other.clone()],
        };
        let mut results = Vec::new();
        if let Kind::Num(n) = pred.kind {
            let mut index = n.floor();
            if index < 0.0 {
                index += items.len() as f64;
            }
            if index >= 0.0 && (index as usize) < items.len() {
                let item = &items[index as usize];
                if item.is_array() {
                    return Ok(item.clone());
                }
                results.push(item.clone());
            }
            return Ok(Value::array_flags(results, flags));
        }
        let len = items.len() as f64;
        for (index, item) in items.iter().enumerate() {
            let res = if ts {
                let env2 = frame_from_tuple(env, item);
                self.eval(pred, &tuple_get(item, "@"), &env2)?
            } else {
                self.eval(pred, item, env)?
            };
            let nums: Option<Vec<f64>> = match &res {
                Value::Number(n) if !n.is_nan() => Some(vec![*n]),
                Value::Array(a) if a.items.iter().all(|v| matches!(v, Value::Number(_))) => {
                    Some(a.items.iter().filter_map(|v| v.as_num()).collect())
                }
                _ => None,
            };
            if let Some(nums) = nums {
                for n in nums {
                    let mut ii = n.floor();
                    if ii < 0.0 {
                        ii += len;
                    }
                    if ii == index as f64 {
                        results.push(item.clone());
                    }
                }
            } else if truthy(&res) == Some(true) {
                results.push(item.clone());
            }
        }
        Ok(Value::array_flags(results, flags))
    }

    // ----- grouping and sorting -----------------------------------------------------------

    pub fn eval_group(&mut self, group: &Group, input: Value, env: &Rc<Frame>) -> Result<Value> {
        let reduce = input.has_flag(TUPLE_STREAM);
        let mut items: Vec<Value> = match &input {
            Value::Array(a) => a.items.clone(),
            other => vec![other.clone()],
        };
        if items.is_empty() {
            items.push(Value::Undefined);
        }
        let mut groups: indexmap::IndexMap<String, (Value, usize)> = indexmap::IndexMap::new();
        for item in items.iter() {
            let env2 = if reduce {
                frame_from_tuple(env, item)
            } else {
                env.clone()
            };
            let ctx = if reduce {
                tuple_get(item, "@")
            } else {
                item.clone()
            };
            for (pi, (knode, _)) in group.pairs.iter().enumerate() {
                let key = self.eval(knode, &ctx, &env2)?;
                let key = match key {
                    Value::Undefined => continue,
                    Value::String(s) => s.to_string(),
                    other => return Err(Error::new("T1003").val(describe(&other)).at(group.pos)),
                };
                if let Some(entry) = groups.get_mut(&key) {
                    if entry.1 != pi {
                        return Err(Error::new("D1009").val(format!("\"{key}\"")).at(group.pos));
                    }
                    let data = std::mem::take(&mut entry.0);
                    entry.0 = append(data, item.clone());
                } else {
                    groups.insert(key, (item.clone(), pi));
                }
            }
        }
        let mut result = Map::new();
        for (key, (data, pi)) in groups {
            let v = if reduce {
                let tuple = reduce_tuple_stream(&data);
                let mut t = match tuple {
                    Value::Object(o) => o.0.clone(),
                    _ => Map::new(),
                };
                let ctx = t.shift_remove("@").unwrap_or_default();
                let env2 = frame_from_tuple(env, &Value::object(t));
                self.eval(&group.pairs[pi].1, &ctx, &env2)?
            } else {
                self.eval(&group.pairs[pi].1, &data, env)?
            };
            if v.is_defined() {
                result.insert(key, v);
            }
        }
        Ok(Value::object(result))
    }

    fn eval_sort(
        &mut self,
        node: &Node,
        terms: &[SortTerm],
        input: &Value,
        env: &Rc<Frame>,
    ) -> Result<Value> {
        let arr = match input {
            Value::Undefined => return Ok(Value::Undefined),
            Value::Array(a) => a,
            other => return Ok(other.clone()),
        };
        if arr.items.len() <= 1 {
            return Ok(input.clone());
        }
        let is_tuple = arr.has(TUPLE_STREAM);
        // evaluate the sort keys once per item
        let mut keys: Vec<Vec<Value>> = Vec::with_capacity(arr.items.len());
        for item in arr.items.iter() {
            let mut k = Vec::with_capacity(terms.len());
            for term in terms {
                let v = if is_tuple {
                    let env2 = frame_from_tuple(env, item);
                    self.eval(&term.expr, &tuple_get(item, "@"), &env2)?
                } else {
                    self.eval(&term.expr, item, env)?
                };
                k.push(v);
            }
            keys.push(k);
        }
        let pos = node.pos;
        let cmp = |a: usize, b: usize| -> Result<bool> {
            let mut comp = 0i32;
            for (ti, term) in terms.iter().enumerate() {
                let aa = &keys[a][ti];
                let bb = &keys[b][ti];
                if aa.is_undefined() {
                    comp = if bb.is_undefined() { 0 } else { 1 };
                    if comp != 0 {
                        break;
                    }
                    continue;
                }
                if bb.is_undefined() {
                    comp = -1;
                    break;
                }
                let ok = |v: &Value| matches!(v, Value::String(_) | Value::Number(_));
                if !ok(aa) || !ok(bb) {
                    let bad = if !ok(aa) { aa } else { bb };
                    return Err(Error::new("T2008").val(describe(bad)).at(pos));
                }
                comp = match (aa, bb) {
                    (Value::Number(x), Value::Number(y)) => {
                        if x == y {
                            0
                        } else if x < y {
                            -1
                        } else {
                            1
                        }
                    }
                    (Value::String(x), Value::String(y)) => {
                        if x == y {
                            0
                        } else if js_str_less(x, y) {
                            -1
                        } else {
                            1
                        }
                    }
                    _ => {
                        return Err(Error::new("T2007")
                            .val(describe(aa))
                            .set("value2", describe(bb))
                            .at(pos))
                    }
                };
                if comp == 0 {
                    continue;
                }
                if term.descending {
                    comp = -comp;
                }
                break;
            }
            Ok(comp == 1)
        };
        let idx: Vec<usize> = (0..arr.items.len()).collect();
        let sorted = merge_sort(idx, &mut |a, b| cmp(a, b))?;
        let items = sorted.into_iter().map(|i| arr.items[i].clone()).collect();
        Ok(Value::array_flags(
            items,
            if is_tuple { TUPLE_STREAM | SEQUENCE } else { 0 },
        ))
    }

    // ----- operators ---------------------------------------------------------------------

    fn eval_binary(
        &mut self,
        node: &Node,
        op: BinOp,
        l: &Node,
        r: &Node,
        input: &Value,
        env: &Rc<Frame>,
    ) -> Result<Value> {
        let lhs = self.eval(l, input, env)?;
        let annotate = |e: Error| e.at(node.pos).tok(op.symbol());
        if op == BinOp::And || op == BinOp::Or {
            let lb = truthy(&lhs).unwrap_or(false);
            if op == BinOp::And && !lb {
                return Ok(Value::Bool(false));
            }
            if op == BinOp::Or && lb {
                return Ok(Value::Bool(true));
            }
            let rhs = self.eval(r, input, env)?;
            return Ok(Value::Bool(truthy(&rhs).unwrap_or(false)));
        }
        let rhs = self.eval(r, input, env)?;
        let res = match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                if lhs.is_defined() && !lhs.is_numeric().map_err(annotate)? {
                    return Err(annotate(Error::new("T2001").val(describe(&lhs))));
                }
                if rhs.is_defined() && !rhs.is_numeric().map_err(annotate)? {
                    return Err(annotate(Error::new("T2002").val(describe(&rhs))));
                }
                match (lhs, rhs) {
                    (Value::Number(a), Value::Number(b)) => Value::Number(match op {
                        BinOp::Add => a + b,
                        BinOp::Sub => a - b,
                        BinOp::Mul => a * b,
                        BinOp::Div => a / b,
                        _ => a % b,
                    }),
                    _ => Value::Undefined,
                }
            }
            BinOp::Eq | BinOp::Ne => {
                if lhs.is_undefined() || rhs.is_undefined() {
                    Value::Bool(false)
                } else {
                    let eq = deep_equal(&lhs, &rhs);
                    Value::Bool(if op == BinOp::Eq { eq } else { !eq })
                }
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let comparable =
                    |v: &Value| matches!(v, Value::Undefined | Value::String(_) | Value::Number(_));
                if !comparable(&lhs) || !comparable(&rhs) {
                    let bad = if !comparable(&lhs) { &lhs } else { &rhs };
                    return Err(annotate(Error::new("T2010").val(describe(bad))));
                }
                if lhs.is_undefined() || rhs.is_undefined() {
                    return Ok(Value::Undefined);
                }
                let ord = match (&lhs, &rhs) {
                    (Value::Number(a), Value::Number(b)) => a.partial_cmp(b),
                    (Value::String(a), Value::String(b)) => Some(js_str_cmp(a, b)),
                    _ => {
                        return Err(annotate(
                            Error::new("T2009")
                                .val(describe(&lhs))
                                .set("value2", describe(&rhs)),
                        ));
                    }
                };
                use std::cmp::Ordering::*;
                Value::Bool(match (op, ord) {
                    (_, None) => false,
                    (BinOp::Lt, Some(o)) => o == Less,
                    (BinOp::Le, Some(o)) => o != Greater,
                    (BinOp::Gt, Some(o)) => o == Greater,
                    (_, Some(o)) => o != Less,
                })
            }
            BinOp::Concat => {
                let ls = if lhs.is_undefined() {
                    String::new()
                } else {
                    functions::string::to_string(&lhs).map_err(annotate)?
                };
                let rs = if rhs.is_undefined() {
                    String::new()
                } else {
                    functions::string::to_string(&rhs).map_err(annotate)?
                };
                if ls.len() + rs.len() > functions::string::MAX_STRING_BYTES {
                    return Err(annotate(functions::string::too_long()));
                }
                Value::string(ls + &rs)
            }
            BinOp::Range => {
                if lhs.is_defined() && !is_integer(&lhs) {
                    return Err(annotate(Error::new("T2003").val(describe(&lhs))));
                }
                if rhs.is_defined() && !is_integer(&rhs) {
                    return Err(annotate(Error::new("T2004").val(describe(&rhs))));
                }
                match (lhs, rhs) {
                    (Value::Number(a), Value::Number(b)) => {
                        if a > b {
                            return Ok(Value::Undefined);
                        }
                        let size = b - a + 1.0;
                        if size > 1e7 {
                            return Err(annotate(Error::new("D2014").val(js_number(size))));
                        }
                        let n = size as usize;
                        let mut v = Vec::with_capacity(n);
                        for i in 0..n {
                            v.push(Value::Number(a + i as f64));
                        }
                        Value::seq(v)
                    }
                    _ => Value::Undefined,
                }
            }
            BinOp::In => {
                if lhs.is_undefined() || rhs.is_undefined() {
                    Value::Bool(false)
                } else {
                    Value::Bool(rhs.members().iter().any(|v| strict_equal(v, &lhs)))
                }
            }
            BinOp::And | BinOp::Or => Value::Undefined,
        };
        Ok(res)
    }

    // ----- functions ---------------------------------------------------------------------

    fn eval_function(
        &mut self,
        node: &Node,
        proc: &Node,
        args: &[Node],
        input: &Value,
        env: &Rc<Frame>,
        applyto: Option<Value>,
    ) -> Result<Value> {
        let p = self.eval(proc, input, env)?;
        if p.is_undefined() {
            if let Some(n) = path_name(proc) {
                if self.lookup_var(env, n).is_defined() {
                    return Err(Error::new("T1005").tok(n).at(node.pos));
                }
            }
        }
        let mut evargs = Vec::with_capacity(args.len() + 1);
        if let Some(c) = applyto {
            evargs.push(c);
        }
        for a in args {
            evargs.push(self.eval(a, input, env)?);
        }
        self.apply(&p, evargs, input)
            .map_err(|e| e.at(node.pos).tok(proc_name(proc)))
    }

    /// Applies a function value to arguments, running tail calls in a loop.
    pub fn apply(&mut self, proc: &Value, args: Vec<Value>, input: &Value) -> Result<Value> {
        let mut result = self.apply_inner(proc, args, input)?;
        loop {
            let thunk = match &result {
                Value::Func(f) => match &**f {
                    Func::Lambda(l) if l.def.thunk => Some(f.clone()),
                    _ => None,
                },
                _ => None,
            };
            let Some(f) = thunk else { break };
            let Func::Lambda(l) = &*f else { break };
            let Kind::Function { proc, args } = &l.def.body.kind else {
                break;
            };
            let next = self.eval(proc, &l.input, &l.env)?;
            let mut evargs = Vec::with_capacity(args.len());
            for a in args {
                evargs.push(self.eval(a, &l.input, &l.env)?);
            }
            let pos = l.def.body.pos;
            result = self
                .apply_inner(&next, evargs, input)
                .map_err(|e| e.at(pos).tok(proc_name(proc)))?;
            self.tick()?;
        }
        Ok(result)
    }

    fn apply_inner(&mut self, proc: &Value, args: Vec<Value>, input: &Value) -> Result<Value> {
        let f = match proc {
            Value::Func(f) => f.clone(),
            _ => return Err(Error::new("T1006")),
        };
        match &*f {
            Func::Lambda(l) => {
                let args = match &l.def.signature {
                    Some(sig) => sig.validate(args, input)?,
                    None => args,
                };
                self.call_lambda(l, args)
            }
            Func::Builtin(b) => {
                let args = b.signature().validate(args, input)?;
                (b.f)(self, args, input)
            }
            Func::Host(h) => {
                let args = match &h.signature {
                    Some(sig) => sig.validate(args, input)?,
                    None => args,
                };
                let mut jargs = Vec::with_capacity(args.len());
                for a in &args {
                    jargs.push(to_json(a)?);
                }
                let r = (h.f)(&jargs)?;
                Ok(r.as_ref().map(from_json).unwrap_or_default())
            }
            Func::Partial {
                target,
                args: pargs,
            } => {
                let mut supplied = args.into_iter();
                let mut full = Vec::with_capacity(pargs.len());
                for a in pargs {
                    match a {
                        Some(v) => full.push(v.clone()),
                        None => full.push(supplied.next().unwrap_or_default()),
                    }
                }
                if let Value::Func(tf) = target {
                    if let Func::Lambda(l) = &**tf {
                        return self.call_lambda(l, full);
                    }
                }
                self.apply_inner(target, full, input)
            }
            Func::Chain(a, b) => {
                let first = args.into_iter().next().unwrap_or_default();
                let r = self.apply(a, vec![first], input)?;
                self.apply(b, vec![r], input)
            }
            Func::Regex(re) => {
                let s = match args.first() {
                    Some(Value::String(s)) => s.clone(),
                    _ => return Ok(Value::Undefined),
                };
                Ok(functions::regex::match_object(re, &s, 0))
            }
            Func::Transform { def, env } => {
                let arg = args.into_iter().next().unwrap_or_default();
                match &arg {
                    Value::Undefined => Ok(Value::Undefined),
                    Value::Object(_) | Value::Array(_) => {
                        let (def, env) = (def.clone(), env.clone());
                        functions::object::transform(self, &def, &env, arg)
                    }
                    other => Err(Error::new("T0410").set("index", 1).val(describe(other))),
                }
            }
        }
    }

    fn call_lambda(&mut self, l: &Lambda, args: Vec<Value>) -> Result<Value> {
        let frame = Frame::child(&l.env);
        {
            let mut vars = frame.vars.borrow_mut();
            let mut it = args.into_iter();
            for p in l.def.params.iter() {
                vars.push((p.clone(), it.next().unwrap_or_default()));
            }
        }
        self.eval(&l.def.body, &l.input, &frame)
    }
}

fn path_name(n: &Node) -> Option<&str> {
    if let Kind::Path(steps) = &n.kind {
        if let Some(Kind::Name(name)) = steps.first().map(|s| &s.kind) {
            return Some(name);
        }
    }
    None
}

fn proc_name(n: &Node) -> String {
    match &n.kind {
        Kind::Variable(v) => v.to_string(),
        _ => path_name(n).map(|s| s.to_string()).unwrap_or_default(),
    }
}

/// JavaScript `===` for the `in` operator: primitives by value, containers by identity.
fn strict_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => Rc::ptr_eq(x, y),
        (Value::Object(x), Value::Object(y)) => Rc::ptr_eq(x, y),
        (Value::Func(x), Value::Func(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

/// String ordering by UTF-16 code units, as JavaScript compares strings.
pub fn js_str_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

pub fn js_str_less(a: &str, b: &str) -> bool {
    js_str_cmp(a, b) == std::cmp::Ordering::Less
}

fn reduce_tuple_stream(data: &Value) -> Value {
    match data {
        Value::Array(a) => {
            let mut result = match a.items.first() {
                Some(Value::Object(o)) => o.0.clone(),
                _ => Map::new(),
            };
            for t in a.items.iter().skip(1) {
                if let Value::Object(o) = t {
                    for (k, v) in o.iter() {
                        let prev = result.get(k).cloned().unwrap_or_default();
                        result.insert(k.clone(), append(prev, v.clone()));
                    }
                }
            }
            Value::object(result)
        }
        other => other.clone(),
    }
}

/// Stable merge sort; `swap(a, b)` is true when `a` must come after `b`.
pub fn merge_sort<T: Clone>(
    items: Vec<T>,
    swap: &mut dyn FnMut(T, T) -> Result<bool>,
) -> Result<Vec<T>> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mid = items.len() / 2;
    let mut left = items;
    let right = left.split_off(mid);
    let left = merge_sort(left, swap)?;
    let right = merge_sort(right, swap)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if swap(left[i].clone(), right[j].clone())? {
            out.push(right[j].clone());
            j += 1;
        } else {
            out.push(left[i].clone());
            i += 1;
        }
    }
    out.extend_from_slice(&left[i..]);
    out.extend_from_slice(&right[j..]);
    Ok(out)
}

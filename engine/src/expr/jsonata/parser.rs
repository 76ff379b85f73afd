//! Pratt parser producing JSONata's AST, then the post-processing jsonata applies to it:
//! paths and steps, predicates and stages, group-by, order-by, focus `@`, index `#`,
//! parent `%` resolution and tail-call marking.

use super::error::{Error, Result};
use super::lexer::{Lexer, Tok, Token};
use super::signature::Signature;
use std::sync::Arc;

// ---------------------------------------------------------------------------
// Raw parse tree

#[derive(Debug)]
struct P {
    kind: PK,
    pos: usize,
    keep_array: bool,
    /// Height of this subtree, bounded so that no later pass can exhaust the stack.
    depth: usize,
}

/// Maximum nesting of an expression's syntax tree.
const MAX_AST_DEPTH: usize = 1000;

#[derive(Debug)]
enum PK {
    Name(String),
    Var(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Regex(String, String),
    Op(&'static str),
    Wildcard,
    Descendant,
    Parent,
    Binary(&'static str, Box<P>, Box<P>),
    Predicate(Box<P>, Box<P>),
    Sort(Box<P>, Vec<(bool, P)>),
    Group(Box<P>, Vec<(P, P)>),
    Neg(Box<P>),
    ArrayCons(Vec<P>),
    ObjectCons(Vec<(P, P)>),
    Block(Vec<P>),
    Call {
        proc: Box<P>,
        args: Vec<P>,
        partial: bool,
    },
    Lambda {
        params: Vec<String>,
        sig: Option<Signature>,
        body: Box<P>,
    },
    Condition(Box<P>, Box<P>, Option<Box<P>>),
    Transform(Box<P>, Box<P>, Option<Box<P>>),
}

impl P {
    fn new(kind: PK, pos: usize) -> P {
        let d = |p: &P| p.depth;
        let depth = 1 + match &kind {
            PK::Binary(_, a, b) | PK::Predicate(a, b) => d(a).max(d(b)),
            PK::Sort(a, terms) => terms.iter().map(|t| d(&t.1)).max().unwrap_or(0).max(d(a)),
            PK::Group(a, pairs) => pairs
                .iter()
                .map(|(k, v)| d(k).max(d(v)))
                .max()
                .unwrap_or(0)
                .max(d(a)),
            PK::Neg(a) => d(a),
            PK::ArrayCons(v) | PK::Block(v) => v.iter().map(d).max().unwrap_or(0),
            PK::ObjectCons(pairs) => pairs.iter().map(|(k, v)| d(k).max(d(v))).max().unwrap_or(0),
            PK::Call { proc, args, .. } => args.iter().map(d).max().unwrap_or(0).max(d(proc)),
            PK::Lambda { body, .. } => d(body),
            PK::Condition(a, b, c) | PK::Transform(a, b, c) => {
                d(a).max(d(b)).max(c.as_deref().map(d).unwrap_or(0))
            }
            _ => 0,
        };
        P {
            kind,
            pos,
            keep_array: false,
            depth,
        }
    }
}

fn too_deep(p: &P) -> Result<()> {
    if p.depth > MAX_AST_DEPTH {
        return Err(Error::msg("U1001", "The expression is nested too deeply").at(p.pos));
    }
    Ok(())
}

struct Parser {
    lexer: Lexer,
    tok: Token,
    nesting: usize,
}

fn lbp(t: &Tok) -> u32 {
    match t {
        Tok::Op(op) => match *op {
            "." => 75,
            "[" | "(" | "@" | "#" => 80,
            "{" => 70,
            "?" => 20,
            "+" | "-" | "&" => 50,
            "*" | "/" | "%" => 60,
            "=" | "<" | ">" | "!=" | "<=" | ">=" | "~>" | "in" | "^" => 40,
            "and" => 30,
            "or" => 25,
            ":=" => 10,
            _ => 0,
        },
        _ => 0,
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Op(o) => o.to_string(),
        Tok::Name(n) => n.clone(),
        Tok::Var(v) => format!("${v}"),
        Tok::Str(s) => s.clone(),
        Tok::Num(n) => super::value::js_number(*n),
        Tok::True => "true".into(),
        Tok::False => "false".into(),
        Tok::Null => "null".into(),
        Tok::Regex { pattern, .. } => format!("/{pattern}/"),
        Tok::End => "(end)".into(),
    }
}

const KNOWN_OPS: &[&str] = &[
    ".", "[", "]", "{", "}", "(", ")", ",", "@", "#", ";", ":", "?", "+", "-", "*", "/", "%", "|",
    "=", "<", ">", "^", "**", "..", ":=", "!=", "<=", ">=", "~>", "and", "or", "in", "&",
];

impl Parser {
    fn is_op(&self, op: &str) -> bool {
        matches!(&self.tok.tok, Tok::Op(o) if *o == op)
    }

    /// Moves to the next token; `expect` checks the current one first.
    fn advance(&mut self, expect: Option<&str>, infix: bool) -> Result<()> {
        if let Some(id) = expect {
            if !self.is_op(id) {
                let code = if matches!(self.tok.tok, Tok::End) {
                    "S0203"
                } else {
                    "S0202"
                };
                return Err(Error::new(code)
                    .set("value", id)
                    .tok(tok_text(&self.tok.tok))
                    .at(self.tok.pos));
            }
        }
        let t = self.lexer.next(infix)?;
        if let Tok::Op(o) = &t.tok {
            if !KNOWN_OPS.contains(o) {
                return Err(Error::new("S0204").tok(*o).at(t.pos));
            }
        }
        self.tok = t;
        Ok(())
    }

    fn expression(&mut self, rbp: u32) -> Result<P> {
        if self.nesting >= MAX_AST_DEPTH {
            return Err(Error::msg("U1001", "The expression is nested too deeply").at(self.tok.pos));
        }
        self.nesting += 1;
        let r = self.expression_inner(rbp);
        self.nesting -= 1;
        r
    }

    fn expression_inner(&mut self, rbp: u32) -> Result<P> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || {
            let t = self.tok.clone();
            self.advance(None, true)?;
            let mut left = self.nud(t)?;
            too_deep(&left)?;
            while rbp < lbp(&self.tok.tok) {
                let t = self.tok.clone();
                self.advance(None, false)?;
                left = self.led(t, left)?;
                too_deep(&left)?;
            }
            Ok(left)
        })
    }

    fn nud(&mut self, t: Token) -> Result<P> {
        let pos = t.pos;
        Ok(match t.tok {
            Tok::Name(n) => P::new(PK::Name(n), pos),
            Tok::Var(v) => P::new(PK::Var(v), pos),
            Tok::Str(s) => P::new(PK::Str(s), pos),
            Tok::Num(n) => P::new(PK::Num(n), pos),
            Tok::True => P::new(PK::Bool(true), pos),
            Tok::False => P::new(PK::Bool(false), pos),
            Tok::Null => P::new(PK::Null, pos),
            Tok::Regex { pattern, flags } => P::new(PK::Regex(pattern, flags), pos),
            Tok::End => return Err(Error::new("S0207").at(pos)),
            Tok::Op(op) => match op {
                "and" | "or" | "in" => P::new(PK::Op(op), pos),
                "-" => {
                    let e = self.expression(70)?;
                    P::new(PK::Neg(Box::new(e)), pos)
                }
                "*" => P::new(PK::Wildcard, pos),
                "**" => P::new(PK::Descendant, pos),
                "%" => P::new(PK::Parent, pos),
                "(" => {
                    let mut exprs = Vec::new();
                    while !self.is_op(")") {
                        exprs.push(self.expression(0)?);
                        if !self.is_op(";") {
                            break;
                        }
                        self.advance(Some(";"), false)?;
                    }
                    self.advance(Some(")"), true)?;
                    P::new(PK::Block(exprs), pos)
                }
                "[" => {
                    let mut items = Vec::new();
                    if !self.is_op("]") {
                        loop {
                            let mut item = self.expression(0)?;
                            if self.is_op("..") {
                                let rpos = self.tok.pos;
                                self.advance(Some(".."), false)?;
                                let rhs = self.expression(0)?;
                                item =
                                    P::new(PK::Binary("..", Box::new(item), Box::new(rhs)), rpos);
                            }
                            items.push(item);
                            if !self.is_op(",") {
                                break;
                            }
                            self.advance(Some(","), false)?;
                        }
                    }
                    self.advance(Some("]"), true)?;
                    P::new(PK::ArrayCons(items), pos)
                }
                "{" => {
                    let pairs = self.object_pairs()?;
                    P::new(PK::ObjectCons(pairs), pos)
                }
                "|" => {
                    let pattern = self.expression(0)?;
                    self.advance(Some("|"), false)?;
                    let update = self.expression(0)?;
                    let mut delete = None;
                    if self.is_op(",") {
                        self.advance(Some(","), false)?;
                        delete = Some(Box::new(self.expression(0)?));
                    }
                    self.advance(Some("|"), false)?;
                    P::new(
                        PK::Transform(Box::new(pattern), Box::new(update), delete),
                        pos,
                    )
                }
                other => return Err(Error::new("S0211").tok(other).at(pos)),
            },
        })
    }

    fn object_pairs(&mut self) -> Result<Vec<(P, P)>> {
        let mut pairs = Vec::new();
        if !self.is_op("}") {
            loop {
                let k = self.expression(0)?;
                self.advance(Some(":"), false)?;
                let v = self.expression(0)?;
                pairs.push((k, v));
                if !self.is_op(",") {
                    break;
                }
                self.advance(Some(","), false)?;
            }
        }
        self.advance(Some("}"), true)?;
        Ok(pairs)
    }

    fn led(&mut self, t: Token, left: P) -> Result<P> {
        let pos = t.pos;
        let op = match t.tok {
            Tok::Op(op) => op,
            _ => return Err(Error::new("S0201").tok(tok_text(&t.tok)).at(pos)),
        };
        Ok(match op {
            "(" => {
                let mut args = Vec::new();
                let mut partial = false;
                if !self.is_op(")") {
                    loop {
                        if self.is_op("?") {
                            partial = true;
                            args.push(P::new(PK::Op("?"), self.tok.pos));
                            self.advance(Some("?"), false)?;
                        } else {
                            args.push(self.expression(0)?);
                        }
                        if !self.is_op(",") {
                            break;
                        }
                        self.advance(Some(","), false)?;
                    }
                }
                self.advance(Some(")"), true)?;
                if let PK::Name(n) = &left.kind {
                    if n == "function" || n == "λ" {
                        let mut params = Vec::new();
                        for (i, a) in args.iter().enumerate() {
                            match &a.kind {
                                PK::Var(v) => params.push(v.clone()),
                                other => {
                                    let tok = match other {
                                        PK::Name(n) => n.clone(),
                                        _ => String::new(),
                                    };
                                    return Err(Error::new("S0208")
                                        .set("value", i + 1)
                                        .tok(tok)
                                        .at(a.pos));
                                }
                            }
                        }
                        let mut sig = None;
                        if self.is_op("<") {
                            let sig_pos = self.tok.pos;
                            let mut depth = 1;
                            let mut text = String::from("<");
                            while depth > 0 && !self.is_op("{") && !matches!(self.tok.tok, Tok::End)
                            {
                                self.advance(None, false)?;
                                if self.is_op(">") {
                                    depth -= 1;
                                } else if self.is_op("<") {
                                    depth += 1;
                                }
                                text.push_str(&tok_text(&self.tok.tok));
                            }
                            self.advance(Some(">"), false)?;
                            sig = Some(Signature::parse(&text).map_err(|e| e.at(sig_pos))?);
                        }
                        self.advance(Some("{"), false)?;
                        let body = self.expression(0)?;
                        self.advance(Some("}"), true)?;
                        return Ok(P::new(
                            PK::Lambda {
                                params,
                                sig,
                                body: Box::new(body),
                            },
                            pos,
                        ));
                    }
                }
                P::new(
                    PK::Call {
                        proc: Box::new(left),
                        args,
                        partial,
                    },
                    pos,
                )
            }
            "[" => {
                if self.is_op("]") {
                    let mut left = left;
                    {
                        let mut step = &mut left;
                        while let PK::Predicate(l, _) = &mut step.kind {
                            step = l;
                        }
                        step.keep_array = true;
                    }
                    self.advance(Some("]"), true)?;
                    left
                } else {
                    let rhs = self.expression(0)?;
                    self.advance(Some("]"), true)?;
                    P::new(PK::Predicate(Box::new(left), Box::new(rhs)), pos)
                }
            }
            "{" => {
                let pairs = self.object_pairs()?;
                P::new(PK::Group(Box::new(left), pairs), pos)
            }
            "^" => {
                self.advance(Some("("), false)?;
                let mut terms = Vec::new();
                loop {
                    let mut desc = false;
                    if self.is_op("<") {
                        self.advance(Some("<"), false)?;
                    } else if self.is_op(">") {
                        desc = true;
                        self.advance(Some(">"), false)?;
                    }
                    terms.push((desc, self.expression(0)?));
                    if !self.is_op(",") {
                        break;
                    }
                    self.advance(Some(","), false)?;
                }
                self.advance(Some(")"), true)?;
                P::new(PK::Sort(Box::new(left), terms), pos)
            }
            ":=" => {
                if !matches!(left.kind, PK::Var(_)) {
                    return Err(Error::new("S0212").tok(name_of(&left)).at(left.pos));
                }
                let rhs = self.expression(9)?;
                P::new(PK::Binary(":=", Box::new(left), Box::new(rhs)), pos)
            }
            "@" | "#" => {
                let rhs = self.expression(80)?;
                if !matches!(rhs.kind, PK::Var(_)) {
                    return Err(Error::new("S0214").tok(op).at(rhs.pos));
                }
                P::new(PK::Binary(op, Box::new(left), Box::new(rhs)), pos)
            }
            "?" => {
                let then = self.expression(0)?;
                let mut els = None;
                if self.is_op(":") {
                    self.advance(Some(":"), false)?;
                    els = Some(Box::new(self.expression(0)?));
                }
                P::new(PK::Condition(Box::new(left), Box::new(then), els), pos)
            }
            "." | "+" | "-" | "*" | "/" | "%" | "=" | "<" | ">" | "!=" | "<=" | ">=" | "&"
            | "and" | "or" | "in" | "~>" => {
                let rhs = self.expression(lbp(&Tok::Op(op)))?;
                P::new(PK::Binary(op, Box::new(left), Box::new(rhs)), pos)
            }
            other => return Err(Error::new("S0201").tok(other).at(pos)),
        })
    }
}

fn name_of(p: &P) -> String {
    match &p.kind {
        PK::Name(n) | PK::Str(n) => n.clone(),
        PK::Var(v) => v.clone(),
        PK::Op(o) => o.to_string(),
        PK::Num(n) => super::value::js_number(*n),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------
// Processed AST

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    And,
    Or,
    In,
    Range,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Concat => "&",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::In => "in",
            BinOp::Range => "..",
        }
    }
}

#[derive(Debug)]
pub struct LambdaDef {
    pub params: Vec<Arc<str>>,
    pub signature: Option<Signature>,
    pub body: Node,
    pub thunk: bool,
}

#[derive(Debug)]
pub struct TransformDef {
    pub pattern: Node,
    pub update: Node,
    pub delete: Option<Node>,
}

#[derive(Debug)]
pub struct RegexDef {
    pub re: regex::Regex,
    pub source: String,
}

#[derive(Debug)]
pub struct SortTerm {
    pub descending: bool,
    pub expr: Node,
}

#[derive(Debug)]
pub enum Stage {
    Filter(Node),
    Index(Arc<str>),
}

#[derive(Debug)]
pub struct Group {
    pub pairs: Vec<(Node, Node)>,
    pub pos: usize,
}

#[derive(Debug)]
pub enum Kind {
    Path(Vec<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Neg(Box<Node>),
    Array(Vec<Node>),
    Object(Group),
    Name(Arc<str>),
    Str(Arc<str>),
    Num(f64),
    Bool(bool),
    Null,
    Wildcard,
    Descendant,
    Parent(usize),
    Variable(Arc<str>),
    Regex(Arc<RegexDef>),
    Condition(Box<Node>, Box<Node>, Option<Box<Node>>),
    Block(Vec<Node>),
    Bind(Arc<str>, Box<Node>),
    Function {
        proc: Box<Node>,
        args: Vec<Node>,
    },
    Partial {
        proc: Box<Node>,
        args: Vec<Option<Node>>,
    },
    Lambda(Arc<LambdaDef>),
    Apply(Box<Node>, Box<Node>),
    Transform(Arc<TransformDef>),
    Sort(Vec<SortTerm>),
    Placeholder,
}

/// A processed AST node with jsonata's annotations.
#[derive(Debug)]
pub struct Node {
    pub kind: Kind,
    pub pos: usize,
    pub keep_array: bool,
    pub keep_singleton_array: bool,
    pub consarray: bool,
    pub tuple: bool,
    /// Filters applied to the node's value (non-step nodes).
    pub predicate: Vec<Stage>,
    /// Filters and index bindings of a step.
    pub stages: Vec<Stage>,
    pub group: Option<Box<Group>>,
    pub focus: Option<Arc<str>>,
    pub index: Option<Arc<str>>,
    /// Slot id of the parent reference this step binds (resolved to `label`).
    pub ancestor: Option<usize>,
    pub label: Option<Arc<str>>,
    seeking_parent: Vec<usize>,
}

impl Node {
    fn new(kind: Kind, pos: usize) -> Node {
        Node {
            kind,
            pos,
            keep_array: false,
            keep_singleton_array: false,
            consarray: false,
            tuple: false,
            predicate: Vec::new(),
            stages: Vec::new(),
            group: None,
            focus: None,
            index: None,
            ancestor: None,
            label: None,
            seeking_parent: Vec::new(),
        }
    }
    fn path(steps: Vec<Node>, pos: usize) -> Node {
        Node::new(Kind::Path(steps), pos)
    }
    pub fn is_path(&self) -> bool {
        matches!(self.kind, Kind::Path(_))
    }
    fn steps_mut(&mut self) -> &mut Vec<Node> {
        match &mut self.kind {
            Kind::Path(s) => s,
            _ => unreachable!("steps of a non-path"),
        }
    }
    fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Path(_) => "path",
            Kind::Binary(..) => "binary",
            Kind::Neg(_) | Kind::Array(_) | Kind::Object(_) => "unary",
            Kind::Name(_) => "name",
            Kind::Str(_) => "string",
            Kind::Num(_) => "number",
            Kind::Bool(_) | Kind::Null => "value",
            Kind::Wildcard => "wildcard",
            Kind::Descendant => "descendant",
            Kind::Parent(_) => "parent",
            Kind::Variable(_) => "variable",
            Kind::Regex(_) => "regex",
            Kind::Condition(..) => "condition",
            Kind::Block(_) => "block",
            Kind::Bind(..) => "bind",
            Kind::Function { .. } => "function",
            Kind::Partial { .. } => "partial",
            Kind::Lambda(_) => "lambda",
            Kind::Apply(..) => "apply",
            Kind::Transform(_) => "transform",
            Kind::Sort(_) => "sort",
            Kind::Placeholder => "operator",
        }
    }
}

struct Slot {
    label: usize,
    level: i64,
}

struct Processor {
    slots: Vec<Slot>,
    next_label: usize,
}

/// Parses and processes a JSONata expression.
pub fn parse(src: &str) -> Result<Node> {
    let mut lexer = Lexer::new(src);
    let first = lexer.next(false)?;
    let mut p = Parser {
        lexer,
        tok: first,
        nesting: 0,
    };
    if let Tok::Op(o) = &p.tok.tok {
        if !KNOWN_OPS.contains(o) {
            return Err(Error::new("S0204").tok(*o).at(p.tok.pos));
        }
    }
    let raw = p.expression(0)?;
    if !matches!(p.tok.tok, Tok::End) {
        return Err(Error::new("S0201").tok(tok_text(&p.tok.tok)).at(p.tok.pos));
    }
    let mut proc = Processor {
        slots: Vec::new(),
        next_label: 0,
    };
    let mut node = proc.process(raw)?;
    if matches!(node.kind, Kind::Parent(_)) || !node.seeking_parent.is_empty() {
        return Err(Error::new("S0217").tok(node.type_name()).at(node.pos));
    }
    proc.resolve_labels(&mut node);
    Ok(node)
}

fn binop(op: &str) -> BinOp {
    match op {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Mod,
        "=" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        "&" => BinOp::Concat,
        "and" => BinOp::And,
        "or" => BinOp::Or,
        "in" => BinOp::In,
        _ => BinOp::Range,
    }
}

fn push_ancestry(result: &mut Node, value: &Node) {
    if !value.seeking_parent.is_empty() {
        result
            .seeking_parent
            .extend(value.seeking_parent.iter().copied());
    }
    if let Kind::Parent(s) = value.kind {
        result.seeking_parent.push(s);
    }
}

fn predicate_to_stages(n: &mut Node) {
    if !n.predicate.is_empty() {
        let p = std::mem::take(&mut n.predicate);
        n.stages.extend(p);
    }
}

impl Processor {
    fn process(&mut self, p: P) -> Result<Node> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.process_inner(p))
    }

    fn process_inner(&mut self, p: P) -> Result<Node> {
        let pos = p.pos;
        let keep = p.keep_array;
        let mut result = match p.kind {
            PK::Binary(".", lhs, rhs) => {
                let lstep = self.process(*lhs)?;
                let lstep_parent = if let Kind::Parent(s) = lstep.kind {
                    Some(s)
                } else {
                    None
                };
                let mut result = if lstep.is_path() {
                    lstep
                } else {
                    Node::path(vec![lstep], pos)
                };
                if let Some(s) = lstep_parent {
                    result.seeking_parent = vec![s];
                }
                let mut rest = self.process(*rhs)?;
                if let Kind::Path(rsteps) = &mut rest.kind {
                    let rsteps = std::mem::take(rsteps);
                    result.steps_mut().extend(rsteps);
                } else {
                    predicate_to_stages(&mut rest);
                    result.steps_mut().push(rest);
                }
                for step in result.steps_mut().iter_mut() {
                    match &step.kind {
                        Kind::Num(n) => {
                            return Err(Error::new("S0213")
                                .set("value", super::value::js_number(*n))
                                .at(step.pos))
                        }
                        Kind::Bool(b) => {
                            return Err(Error::new("S0213").set("value", b).at(step.pos))
                        }
                        Kind::Null => {
                            return Err(Error::new("S0213").set("value", "null").at(step.pos))
                        }
                        Kind::Str(s) => {
                            let s = s.clone();
                            step.kind = Kind::Name(s);
                        }
                        _ => {}
                    }
                }
                if result.steps_mut().iter().any(|s| s.keep_array) {
                    result.keep_singleton_array = true;
                }
                let steps = result.steps_mut();
                if let Some(first) = steps.first_mut() {
                    if matches!(first.kind, Kind::Array(_)) {
                        first.consarray = true;
                    }
                }
                if let Some(last) = steps.last_mut() {
                    if matches!(last.kind, Kind::Array(_)) {
                        last.consarray = true;
                    }
                }
                self.resolve_ancestry(&mut result)?;
                result
            }
            PK::Predicate(lhs, rhs) => {
                let mut result = self.process(*lhs)?;
                let is_path = result.is_path();
                let mut predicate = self.process(*rhs)?;
                {
                    let step: &mut Node = if is_path {
                        match result.steps_mut().last_mut() {
                            Some(s) => s,
                            None => return Err(Error::new("S0201").at(pos)),
                        }
                    } else {
                        &mut result
                    };
                    if step.group.is_some() {
                        return Err(Error::new("S0209").at(pos));
                    }
                    if !predicate.seeking_parent.is_empty() {
                        for &slot in predicate.seeking_parent.iter() {
                            if self.slots[slot].level == 1 {
                                self.seek_parent(step, slot)?;
                            } else {
                                self.slots[slot].level -= 1;
                            }
                        }
                        let sp = std::mem::take(&mut predicate.seeking_parent);
                        step.seeking_parent.extend(sp.iter().copied());
                        predicate.seeking_parent = sp;
                    }
                    let filter = Stage::Filter(predicate);
                    if is_path {
                        step.stages.push(filter);
                    } else {
                        step.predicate.push(filter);
                    }
                }
                result
            }
            PK::Group(lhs, pairs) => {
                let mut result = self.process(*lhs)?;
                if result.group.is_some() {
                    return Err(Error::new("S0210").at(pos));
                }
                let mut ps = Vec::new();
                for (k, v) in pairs {
                    ps.push((self.process(k)?, self.process(v)?));
                }
                result.group = Some(Box::new(Group { pairs: ps, pos }));
                result
            }
            PK::Sort(lhs, terms) => {
                let mut result = self.process(*lhs)?;
                if !result.is_path() {
                    result = Node::path(vec![result], pos);
                }
                let mut sort = Node::new(Kind::Placeholder, pos);
                let mut ts = Vec::new();
                for (descending, e) in terms {
                    let expr = self.process(e)?;
                    push_ancestry(&mut sort, &expr);
                    ts.push(SortTerm { descending, expr });
                }
                sort.kind = Kind::Sort(ts);
                result.steps_mut().push(sort);
                self.resolve_ancestry(&mut result)?;
                result
            }
            PK::Binary(":=", lhs, rhs) => {
                let name = match lhs.kind {
                    PK::Var(v) => v,
                    _ => return Err(Error::new("S0212").at(pos)),
                };
                let rhs = self.process(*rhs)?;
                let mut result = Node::new(Kind::Placeholder, pos);
                push_ancestry(&mut result, &rhs);
                result.kind = Kind::Bind(Arc::from(name), Box::new(rhs));
                result
            }
            PK::Binary("@", lhs, rhs) => {
                let mut result = self.process(*lhs)?;
                let name = match rhs.kind {
                    PK::Var(v) => v,
                    _ => return Err(Error::new("S0214").tok("@").at(pos)),
                };
                {
                    let step: &mut Node = if result.is_path() {
                        match result.steps_mut().last_mut() {
                            Some(s) => s,
                            None => return Err(Error::new("S0201").at(pos)),
                        }
                    } else {
                        &mut result
                    };
                    if !step.stages.is_empty() || !step.predicate.is_empty() {
                        return Err(Error::new("S0215").tok("@").at(pos));
                    }
                    if matches!(step.kind, Kind::Sort(_)) {
                        return Err(Error::new("S0216").tok("@").at(pos));
                    }
                    if keep {
                        step.keep_array = true;
                    }
                    step.focus = Some(Arc::from(name));
                    step.tuple = true;
                }
                result
            }
            PK::Binary("#", lhs, rhs) => {
                let mut result = self.process(*lhs)?;
                let name: Arc<str> = match rhs.kind {
                    PK::Var(v) => Arc::from(v),
                    _ => return Err(Error::new("S0214").tok("#").at(pos)),
                };
                if !result.is_path() {
                    let mut inner = result;
                    predicate_to_stages(&mut inner);
                    result = Node::path(vec![inner], pos);
                }
                {
                    let step = match result.steps_mut().last_mut() {
                        Some(s) => s,
                        None => return Err(Error::new("S0201").at(pos)),
                    };
                    if step.stages.is_empty() {
                        step.index = Some(name);
                    } else {
                        step.stages.push(Stage::Index(name));
                    }
                    step.tuple = true;
                }
                result
            }
            PK::Binary("~>", lhs, rhs) => {
                let l = self.process(*lhs)?;
                let r = self.process(*rhs)?;
                let ka = l.keep_array || r.keep_array;
                let mut result = Node::new(Kind::Apply(Box::new(l), Box::new(r)), pos);
                result.keep_array = ka;
                result
            }
            PK::Binary(op, lhs, rhs) => {
                let l = self.process(*lhs)?;
                let r = self.process(*rhs)?;
                let mut result = Node::new(Kind::Placeholder, pos);
                push_ancestry(&mut result, &l);
                push_ancestry(&mut result, &r);
                result.kind = Kind::Binary(binop(op), Box::new(l), Box::new(r));
                result
            }
            PK::ArrayCons(items) => {
                let mut result = Node::new(Kind::Placeholder, pos);
                let mut out = Vec::new();
                for i in items {
                    let v = self.process(i)?;
                    push_ancestry(&mut result, &v);
                    out.push(v);
                }
                result.kind = Kind::Array(out);
                result
            }
            PK::ObjectCons(pairs) => {
                let mut result = Node::new(Kind::Placeholder, pos);
                let mut out = Vec::new();
                for (k, v) in pairs {
                    let k = self.process(k)?;
                    push_ancestry(&mut result, &k);
                    let v = self.process(v)?;
                    push_ancestry(&mut result, &v);
                    out.push((k, v));
                }
                result.kind = Kind::Object(Group { pairs: out, pos });
                result
            }
            PK::Neg(e) => {
                let e = self.process(*e)?;
                if let Kind::Num(n) = e.kind {
                    let mut r = e;
                    r.kind = Kind::Num(-n);
                    r
                } else {
                    let mut result = Node::new(Kind::Placeholder, pos);
                    push_ancestry(&mut result, &e);
                    result.kind = Kind::Neg(Box::new(e));
                    result
                }
            }
            PK::Call {
                proc,
                args,
                partial,
            } => {
                let mut result = Node::new(Kind::Placeholder, pos);
                let mut out = Vec::new();
                for a in args {
                    let a = self.process(a)?;
                    push_ancestry(&mut result, &a);
                    out.push(a);
                }
                let procedure = Box::new(self.process(*proc)?);
                result.kind = if partial {
                    Kind::Partial {
                        proc: procedure,
                        args: out
                            .into_iter()
                            .map(|a| {
                                if matches!(a.kind, Kind::Placeholder) {
                                    None
                                } else {
                                    Some(a)
                                }
                            })
                            .collect(),
                    }
                } else {
                    Kind::Function {
                        proc: procedure,
                        args: out,
                    }
                };
                result
            }
            PK::Lambda { params, sig, body } => {
                let body = self.process(*body)?;
                let body = tail_call_optimize(body);
                let def = LambdaDef {
                    params: params.into_iter().map(Arc::from).collect(),
                    signature: sig,
                    body,
                    thunk: false,
                };
                Node::new(Kind::Lambda(Arc::new(def)), pos)
            }
            PK::Condition(c, t, e) => {
                let mut result = Node::new(Kind::Placeholder, pos);
                let c = self.process(*c)?;
                push_ancestry(&mut result, &c);
                let t = self.process(*t)?;
                push_ancestry(&mut result, &t);
                let e = match e {
                    Some(e) => {
                        let e = self.process(*e)?;
                        push_ancestry(&mut result, &e);
                        Some(Box::new(e))
                    }
                    None => None,
                };
                result.kind = Kind::Condition(Box::new(c), Box::new(t), e);
                result
            }
            PK::Transform(pat, upd, del) => {
                let pattern = self.process(*pat)?;
                let update = self.process(*upd)?;
                let delete = match del {
                    Some(d) => Some(self.process(*d)?),
                    None => None,
                };
                Node::new(
                    Kind::Transform(Arc::new(TransformDef {
                        pattern,
                        update,
                        delete,
                    })),
                    pos,
                )
            }
            PK::Block(exprs) => {
                let mut result = Node::new(Kind::Placeholder, pos);
                let mut out = Vec::new();
                for e in exprs {
                    let part = self.process(e)?;
                    push_ancestry(&mut result, &part);
                    let cons = part.consarray
                        || matches!(&part.kind, Kind::Path(steps) if steps.first().is_some_and(|s| s.consarray));
                    if cons {
                        result.consarray = true;
                    }
                    out.push(part);
                }
                result.kind = Kind::Block(out);
                result
            }
            PK::Name(n) => self.name_path(n, pos, keep),
            PK::Op(op @ ("and" | "or" | "in")) => self.name_path(op.to_string(), pos, keep),
            PK::Op("?") => Node::new(Kind::Placeholder, pos),
            PK::Op(op) => return Err(Error::new("S0201").tok(op).at(pos)),
            PK::Parent => {
                let id = self.slots.len();
                self.slots.push(Slot {
                    label: self.next_label,
                    level: 1,
                });
                self.next_label += 1;
                Node::new(Kind::Parent(id), pos)
            }
            PK::Str(s) => Node::new(Kind::Str(Arc::from(s)), pos),
            PK::Num(n) => Node::new(Kind::Num(n), pos),
            PK::Bool(b) => Node::new(Kind::Bool(b), pos),
            PK::Null => Node::new(Kind::Null, pos),
            PK::Var(v) => Node::new(Kind::Variable(Arc::from(v)), pos),
            PK::Wildcard => Node::new(Kind::Wildcard, pos),
            PK::Descendant => Node::new(Kind::Descendant, pos),
            PK::Regex(pattern, flags) => {
                let re =
                    super::functions::regex::compile(&pattern, &flags).map_err(|e| e.at(pos))?;
                Node::new(
                    Kind::Regex(Arc::new(RegexDef {
                        re,
                        source: pattern,
                    })),
                    pos,
                )
            }
        };
        if keep {
            result.keep_array = true;
        }
        Ok(result)
    }

    fn name_path(&mut self, n: String, pos: usize, keep: bool) -> Node {
        let mut step = Node::new(Kind::Name(Arc::from(n)), pos);
        step.keep_array = keep;
        let mut result = Node::path(vec![step], pos);
        if keep {
            result.keep_singleton_array = true;
        }
        result
    }

    fn seek_parent(&mut self, node: &mut Node, slot: usize) -> Result<usize> {
        match &mut node.kind {
            Kind::Name(_) | Kind::Wildcard => {
                self.slots[slot].level -= 1;
                if self.slots[slot].level == 0 {
                    if let Some(existing) = node.ancestor {
                        self.slots[slot].label = self.slots[existing].label;
                    }
                    node.ancestor = Some(slot);
                    node.tuple = true;
                }
            }
            Kind::Parent(_) => {
                self.slots[slot].level += 1;
            }
            Kind::Block(exprs) => {
                if let Some(last) = exprs.last_mut() {
                    let s = self.seek_parent(last, slot)?;
                    node.tuple = true;
                    return Ok(s);
                }
            }
            Kind::Path(steps) => {
                let mut index = steps.len() as isize - 1;
                let mut s = slot;
                if index >= 0 {
                    s = self.seek_parent(&mut steps[index as usize], s)?;
                    index -= 1;
                    while self.slots[s].level > 0 && index >= 0 {
                        s = self.seek_parent(&mut steps[index as usize], s)?;
                        index -= 1;
                    }
                }
                node.tuple = true;
                return Ok(s);
            }
            _ => return Err(Error::new("S0217").tok(node.type_name()).at(node.pos)),
        }
        Ok(slot)
    }

    fn resolve_ancestry(&mut self, path: &mut Node) -> Result<()> {
        let mut unresolved = Vec::new();
        {
            let steps = path.steps_mut();
            let last = match steps.last() {
                Some(l) => l,
                None => return Ok(()),
            };
            let mut slots = last.seeking_parent.clone();
            if let Kind::Parent(s) = last.kind {
                slots.push(s);
            }
            for slot in slots {
                let mut index = steps.len() as isize - 2;
                while self.slots[slot].level > 0 {
                    if index < 0 {
                        unresolved.push(slot);
                        break;
                    }
                    let mut si = index as usize;
                    index -= 1;
                    while index >= 0
                        && steps[si].focus.is_some()
                        && steps[index as usize].focus.is_some()
                    {
                        si = index as usize;
                        index -= 1;
                    }
                    self.seek_parent(&mut steps[si], slot)?;
                }
            }
        }
        path.seeking_parent.extend(unresolved);
        Ok(())
    }

    fn resolve_labels(&self, node: &mut Node) {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || {
            if let Some(a) = node.ancestor {
                node.label = Some(Arc::from(format!("!{}", self.slots[a].label)));
            }
            if let Kind::Parent(s) = node.kind {
                node.label = Some(Arc::from(format!("!{}", self.slots[s].label)));
            }
            for st in node.stages.iter_mut().chain(node.predicate.iter_mut()) {
                if let Stage::Filter(n) = st {
                    self.resolve_labels(n);
                }
            }
            if let Some(g) = &mut node.group {
                for (k, v) in g.pairs.iter_mut() {
                    self.resolve_labels(k);
                    self.resolve_labels(v);
                }
            }
            match &mut node.kind {
                Kind::Path(v) | Kind::Array(v) | Kind::Block(v) => {
                    v.iter_mut().for_each(|n| self.resolve_labels(n))
                }
                Kind::Binary(_, a, b) | Kind::Apply(a, b) => {
                    self.resolve_labels(a);
                    self.resolve_labels(b);
                }
                Kind::Neg(a) | Kind::Bind(_, a) => self.resolve_labels(a),
                Kind::Object(g) => {
                    for (k, v) in g.pairs.iter_mut() {
                        self.resolve_labels(k);
                        self.resolve_labels(v);
                    }
                }
                Kind::Condition(c, t, e) => {
                    self.resolve_labels(c);
                    self.resolve_labels(t);
                    if let Some(e) = e {
                        self.resolve_labels(e);
                    }
                }
                Kind::Function { proc, args } => {
                    self.resolve_labels(proc);
                    args.iter_mut().for_each(|n| self.resolve_labels(n));
                }
                Kind::Partial { proc, args } => {
                    self.resolve_labels(proc);
                    args.iter_mut()
                        .flatten()
                        .for_each(|n| self.resolve_labels(n));
                }
                Kind::Lambda(def) => {
                    if let Some(d) = Arc::get_mut(def) {
                        self.resolve_labels(&mut d.body);
                    }
                }
                Kind::Transform(def) => {
                    if let Some(d) = Arc::get_mut(def) {
                        self.resolve_labels(&mut d.pattern);
                        self.resolve_labels(&mut d.update);
                        if let Some(x) = &mut d.delete {
                            self.resolve_labels(x);
                        }
                    }
                }
                Kind::Sort(terms) => terms
                    .iter_mut()
                    .for_each(|t| self.resolve_labels(&mut t.expr)),
                _ => {}
            }
        })
    }
}

fn tail_call_optimize(mut expr: Node) -> Node {
    match &mut expr.kind {
        Kind::Function { .. } if expr.predicate.is_empty() => {
            let pos = expr.pos;
            let def = LambdaDef {
                params: Vec::new(),
                signature: None,
                body: expr,
                thunk: true,
            };
            Node::new(Kind::Lambda(Arc::new(def)), pos)
        }
        Kind::Condition(_, t, e) => {
            let tt = std::mem::replace(&mut **t, Node::new(Kind::Null, 0));
            **t = tail_call_optimize(tt);
            if let Some(e) = e {
                let ee = std::mem::replace(&mut **e, Node::new(Kind::Null, 0));
                **e = tail_call_optimize(ee);
            }
            expr
        }
        Kind::Block(exprs) => {
            if let Some(last) = exprs.pop() {
                exprs.push(tail_call_optimize(last));
            }
            expr
        }
        _ => expr,
    }
}

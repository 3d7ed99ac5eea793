//! What an FFQL tree says of how it will be read: the fields whose sort indexes serve it,
//! a range, an `or` of one field's values, equalities that decide it.

use crate::ffql::{CellTest, Cmp, Node};

/// The fields whose sort index would serve a query's tests (equality with text, number
/// and date ranges), so a read can ask for them.
pub fn indexed_fields(node: &Node) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n {
            Node::And(items) | Node::Or(items) => stack.extend(items),
            Node::Not(inner) => stack.push(inner),
            Node::Cell { field, test } => {
                let served = match test {
                    CellTest::Text(Cmp::Eq, v) => !v.is_empty(),
                    CellTest::Number(..) | CellTest::Date(..) => true,
                    _ => false,
                };
                if served && !out.contains(field) {
                    out.push(*field);
                }
            }
            Node::Record(_) | Node::Field { .. } => {}
        }
    }
    out
}

/// Whether a query compares a range of numbers or dates (which SQLite's planner serves
/// from a sort index even when the range holds most of the sheet).
pub fn has_range(node: &Node) -> bool {
    match node {
        Node::And(items) | Node::Or(items) => items.iter().any(has_range),
        Node::Not(inner) => has_range(inner),
        Node::Cell {
            test: CellTest::Number(cmp, _) | CellTest::Date(cmp, _),
            ..
        } => *cmp != Cmp::Eq,
        _ => false,
    }
}

/// `field eq a or field eq b ...`: the field and the values.
pub(super) fn same_field_equalities(node: &Node) -> Option<(usize, Vec<&str>)> {
    let Node::Or(items) = node else { return None };
    let mut field = None;
    let mut values = Vec::new();
    for item in items {
        let Node::Cell {
            field: f,
            test: CellTest::Text(Cmp::Eq, v),
        } = item
        else {
            return None;
        };
        if v.is_empty() || field.is_some_and(|x| x != *f) {
            return None;
        }
        field = Some(*f);
        values.push(v.as_str());
    }
    field.map(|f| (f, values))
}

/// Whether a query's top level holds an `or` of one field's text equalities (one `IN` on
/// SQLite). Its records come from the field's sort index in no id order, so a page of them
/// in id order is best sorted after they are found (`ORDER BY +id`), once the sheet's first
/// records did not fill it.
pub fn in_list_leads(node: &Node) -> bool {
    match node {
        Node::And(items) => items.iter().any(|i| same_field_equalities(i).is_some()),
        other => same_field_equalities(other).is_some(),
    }
}

/// Whether `node` is, or is an `and` with, a test that equalities of text decide (`email eq
/// a`, or an `or` of such tests).
pub(super) fn equalities_lead(node: &Node) -> bool {
    fn equalities(n: &Node) -> bool {
        match n {
            Node::Cell {
                test: CellTest::Text(Cmp::Eq, v),
                ..
            } => !v.is_empty(),
            Node::Or(items) => items.iter().all(equalities),
            Node::And(items) => items.iter().any(equalities),
            _ => false,
        }
    }
    match node {
        Node::And(items) => items.iter().any(equalities),
        other => equalities(other),
    }
}

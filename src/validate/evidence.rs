//! What all of one field's values say of how to read those that read two ways, gathered a
//! value at a time: an import gathers it over every row before it writes any, so that
//! `01/02/2024` reads the same way in its first batch and its last.

use super::date_order::{self, DateOrder};
use super::{decimal, Reading};
use crate::blueprint::{Field, FieldType};
use serde_json::Value;

#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence {
    day_first: bool,
    month_first: bool,
    decimal_comma: bool,
    decimal_point: bool,
}

impl Evidence {
    /// Takes in one value of the field.
    pub fn add(&mut self, value: &Value) {
        let Value::String(text) = value else { return };
        let text = text.trim();
        if !text.contains([',', '.', '/', '-']) {
            return;
        }
        match date_order::evidence(text) {
            Some(DateOrder::DayFirst) => self.day_first = true,
            Some(DateOrder::MonthFirst) => self.month_first = true,
            _ => {}
        }
        if text.contains([',', '.']) {
            self.decimal_point |= decimal::decimal_point(text);
            self.decimal_comma |= decimal::normalized(text, false).is_some();
        }
    }

    /// Takes in what another part of the same values showed.
    pub fn merge(&mut self, other: &Evidence) {
        self.day_first |= other.day_first;
        self.month_first |= other.month_first;
        self.decimal_comma |= other.decimal_comma;
        self.decimal_point |= other.decimal_point;
    }

    /// How a field of type `field_type` reads, by all the values taken in: as
    /// `date_order::of_values` and `decimal::commas_in` read one batch.
    pub fn reading(&self, field_type: &FieldType) -> Reading {
        match field_type {
            FieldType::Date => Reading::Dates(match (self.day_first, self.month_first) {
                (true, false) => DateOrder::DayFirst,
                (false, true) => DateOrder::MonthFirst,
                _ => DateOrder::Unknown,
            }),
            FieldType::Number { .. } if self.decimal_comma && !self.decimal_point => Reading::DecimalCommas,
            FieldType::Number { .. } if self.decimal_comma && self.decimal_point => Reading::MixedDecimals,
            _ => Reading::Alone,
        }
    }

    /// Whether some value can only be read with a decimal point (`1.5`).
    pub fn writes_points(&self) -> bool {
        self.decimal_point
    }
}

/// Marks the number fields of one import that show neither way ([`Reading::Alone`]) as
/// [`Reading::CommasElsewhere`] when another of its number fields writes decimal commas
/// and none a decimal point (by `points`): a file writes its numbers one way.
pub fn with_commas_elsewhere(fields: &[Field], readings: &mut [Reading], points: impl Fn(usize) -> bool) {
    let number = |f: &Field| matches!(f.field_type, FieldType::Number { .. });
    let commas = fields
        .iter()
        .zip(readings.iter())
        .any(|(f, r)| number(f) && *r == Reading::DecimalCommas);
    let some_points = fields.iter().enumerate().any(|(i, f)| number(f) && points(i));
    if !commas || some_points {
        return;
    }
    for (i, f) in fields.iter().enumerate() {
        if number(f) && readings.get(i) == Some(&Reading::Alone) {
            readings[i] = Reading::CommasElsewhere;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reading(values: &[&str], field_type: FieldType) -> Reading {
        let mut evidence = Evidence::default();
        for v in values {
            evidence.add(&json!(v));
        }
        evidence.reading(&field_type)
    }

    #[test]
    fn evidence_reads_as_one_batch_would() {
        let number = || FieldType::Number { decimal_places: None };
        for values in [
            vec!["01/02/2024", "25/12/2024"],
            vec!["01/02/2024", "12/25/2024"],
            vec!["01/02/2024", "25/12/2024", "12/25/2024"],
            vec!["2024-01-02"],
        ] {
            let batch: Vec<Value> = values.iter().map(|v| json!(v)).collect();
            assert_eq!(
                reading(&values, FieldType::Date),
                Reading::Dates(date_order::of_values(batch.iter())),
                "{values:?}"
            );
        }
        for values in [
            vec!["1,5", "2.500"],
            vec!["1,5", "1.5"],
            vec!["1,234"],
            vec!["7", "1.234,5"],
        ] {
            let batch: Vec<Value> = values.iter().map(|v| json!(v)).collect();
            let commas = decimal::commas_in(batch.iter());
            assert_eq!(
                reading(&values, number()) == Reading::DecimalCommas,
                commas,
                "{values:?}"
            );
        }
    }

    /// A field writing numbers both ways (a spreadsheet's number cell beside text typed
    /// the European way) reads those that read two ways the English way, saying so (probe
    /// 66h D4: `3.000` became 3 and `2,500` 2500, unsaid).
    #[test]
    fn numbers_written_both_ways_say_how_the_doubtful_ones_read() {
        let values = ["10.5", "1.234,56", "3.000", "2,500"];
        let mixed = reading(&values, FieldType::Number { decimal_places: None });
        assert_eq!(mixed, Reading::MixedDecimals);
        let field = crate::blueprint::Field {
            key: "amount".into(),
            label: String::new(),
            field_type: FieldType::Number { decimal_places: None },
            readonly: false,
            required: false,
            required_note: Default::default(),
            unique: None,
            unique_note: Default::default(),
            computed: false,
            verbatim: false,
        };
        for (text, read) in [
            ("3.000", json!(3)),
            ("2,500", json!(2500)),
            ("1.234,56", json!(1234.56)),
        ] {
            let cell = crate::validate::cast::cast_cell_read(&field, &json!(text), mixed);
            assert_eq!(cell.value, read, "{text}");
            let said: Vec<&str> = cell.messages.iter().map(|m| m.message.as_str()).collect();
            match text {
                "1.234,56" => assert!(said.is_empty(), "{text}: {said:?}"),
                _ => assert!(
                    said.iter().any(|m| m.contains("others with decimal commas")),
                    "{text}: {said:?}"
                ),
            }
        }
    }
}

//! The phrases of a customer's standing in a CRM: its tier and its score.

pub(in crate::mapping) const CRM: &[(&str, &[&str])] = &[
    (
        "tier",
        &[
            "tier",
            "level",
            "membership level",
            "membership tier",
            "loyalty tier",
            "loyalty level",
            "customer tier",
            "customer level",
            "stufe",
            "kundenstufe",
            "niveau",
            "nivel",
            "livello",
            "poziom",
        ],
    ),
    (
        "score",
        &[
            "score",
            "points",
            "loyalty points",
            "reward points",
            "points balance",
            "punkte",
            "punktzahl",
            "punktestand",
            "puntos",
            "pontos",
            "punti",
            "punteggio",
            "punkty",
        ],
    ),
];

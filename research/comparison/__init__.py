"""Social comparison: how a home's grid import compares with similar homes under its released
postcode prefix (docs/research.md, "Social comparison")."""

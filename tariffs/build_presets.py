"""Rebuild the packaged grid-tariff presets from a checkout of the fri-nettleie dataset.

The dataset (kraftsystemet/fri-nettleie, CC BY 4.0) keeps one YAML file per Norwegian grid company.
hems ships them converted, unchanged in content, to one JSON file (``tariffs/data/fri_nettleie.json``)
so the package needs no YAML parser at run time. Run by hand when the dataset is updated::

    python -m tariffs.build_presets /path/to/fri-nettleie

PyYAML is needed only for this tool (imported lazily; it is not a runtime dependency).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).with_name("data")
CREDIT = "Grid tariff data: fri-nettleie, kraftsystemet.no (CC BY 4.0)"


def _plain(value: Any) -> Any:
    """YAML dates and other scalars → JSON-safe values (dates as ISO text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def convert(source_dir: Path) -> dict[str, Any]:
    """Read every ``tariffer/*.yml`` of a fri-nettleie checkout into one JSON-ready document."""
    import yaml  # dev-only dependency

    files = sorted((source_dir / "tariffer").glob("*.yml"))
    if not files:
        raise SystemExit(f"{source_dir}: no tariffer/*.yml files found")
    companies = []
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc = _plain(doc)
        doc["fil"] = path.stem
        companies.append(doc)
    return {"credit": CREDIT, "licence": "CC-BY-4.0", "companies": companies}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tariffs.build_presets /path/to/fri-nettleie", file=sys.stderr)
        return 2
    source = Path(args[0])
    doc = convert(source)
    out = DATA_DIR / "fri_nettleie.json"
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    licence = source / "LICENSE-CC-BY-4.0"
    if licence.exists():
        shutil.copyfile(licence, DATA_DIR / "LICENSE-CC-BY-4.0")
    print(f"wrote {out} ({len(doc['companies'])} companies)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

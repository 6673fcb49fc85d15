"""Choosing k for vessel positions in New York harbour (AIS, December 2020).

Fits k = 2..12 on 50,000 positions and reports inertia (m²), silhouette (from distances
in metres, on a 5,000-point sample: its cost grows with the square of the sample) and
Calinski–Harabasz, with the recommended k.
Writes ``ais_choose_k.png`` and ``ais_choose_k.csv``.

    python examples/choose_k_ais.py [output directory]
"""

import sys
from pathlib import Path

import geokmeans as gk

HERE = Path(__file__).resolve().parent


def main(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    choice = gk.choose_k(HERE.parent / "data" / "ny_harbor_ais.csv", "2..12", random_state=0,
                         silhouette_sample=5_000)
    print(choice.table.to_string(index=False))
    print(f"recommended k = {choice.recommended_k} ({choice.rule}; CRS {choice.crs})")
    choice.plot(out_dir / "ais_choose_k.png")
    choice.table.to_csv(out_dir / "ais_choose_k.csv", index=False)
    return choice


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out")

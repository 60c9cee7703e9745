"""Print the records of a tree as JSON: python3 walk.py ROOT [ROOT2 ...] (one list per root)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fsrecord import walk  # noqa: E402

json.dump([walk(os.fsencode(root)) for root in sys.argv[1:]], sys.stdout)

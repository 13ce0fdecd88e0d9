"""Published result tables as data, and the experiments of this repository that reproduce them.

Each `<name>.yaml` beside this file is one published table (its citation, columns, and rows with
the recipe, config and overrides that reproduce each row and the published figures with their
score polarity); `table.py` reads and checks them, `compare.py` sets the measured figures of the
experiments beside them (`python -m antispoof.bin.paper_table`).
"""

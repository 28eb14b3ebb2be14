# tests/workers holds the offline Workers harness, not tests: its vendored Pyodide wheels
# (python_modules) ship test files of their own that pytest must not collect.
collect_ignore = ["python_modules", "node_modules"]

#!/usr/bin/env python3
"""Checks the shape rules of src/: no file over 400 lines, no function over 80 lines.

A function is a brace block opened at namespace or class level whose header ends
in a parameter list (possibly followed by const/override/noexcept/-> type or a
constructor's initialiser list). Its length counts the lines from the header's
last line to the closing brace. Tables (brace blocks opened after '=') are not
functions. Usage: code_shape.py SRC_DIR [--max-file N] [--max-function N]
"""
import pathlib
import re
import sys


def strip(text):
    """Blanks comments, string and char literals, keeping line breaks."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j])); i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) + len(m.group(1)) + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:end])); i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (j - i - 1) + c); i = j + 1
        else:
            out.append(c); i += 1
    return "".join(out)


SCOPE = re.compile(r"\b(namespace|struct|class|union|extern\s+\"C\")\b[^;{}()]*$")
FUNC = re.compile(r"\)\s*(const\s*)?(override\s*)?(final\s*)?(noexcept\s*)?(->\s*[\w:<>,\s*&]+)?$"
                  r"|\)\s*:\s*[\s\S]*\)\s*$")


def functions(path):
    text = strip(path.read_text(encoding="utf-8"))
    stack = []  # (kind, start_line)
    header_start = 0
    for pos, ch in enumerate(text):
        if ch == "{":
            header = text[header_start:pos].strip()
            enclosing_code = any(k in ("function", "table", "block") for k, *_ in stack)
            if enclosing_code:
                kind = "block"
            elif SCOPE.search(header):
                kind = "scope"
            elif header.endswith("=") or re.search(r"=\s*$", header):
                kind = "table"
            elif FUNC.search(header) and "(" in header:
                kind = "function"
            else:
                kind = "block"
            line = text.count("\n", 0, pos) + 1
            name = re.sub(r"\s+", " ", header)[-90:]
            stack.append((kind, line, name))
            header_start = pos + 1
        elif ch == "}":
            if stack:
                kind, line, name = stack.pop()
                if kind == "function":
                    yield name, line, text.count("\n", 0, pos) + 1
            header_start = pos + 1
        elif ch == ";":
            header_start = pos + 1


def main():
    args = sys.argv[1:]
    root = pathlib.Path(args[0])
    max_file = int(args[args.index("--max-file") + 1]) if "--max-file" in args else 400
    max_fn = int(args[args.index("--max-function") + 1]) if "--max-function" in args else 80
    bad = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".cc", ".h", ".cu"):
            continue
        raw = path.read_text(encoding="utf-8").split("\n")
        lines = len(raw) - 1
        if lines > max_file:
            bad.append(f"{path}: {lines} lines (at most {max_file})")
        for name, start, end in functions(path):
            if any("shape: table" in raw[i] for i in range(max(0, start - 4), start)):
                continue
            if end - start + 1 > max_fn:
                bad.append(f"{path}:{start}: function of {end - start + 1} lines (at most {max_fn}): {name}")
    for b in bad:
        print(b)
    print(f"{len(bad)} shape violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

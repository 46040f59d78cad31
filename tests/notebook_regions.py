"""Lines of an nbgrader source notebook by region (statement, solution, hidden tests), shared by
the tests that check what a generated notebook (release, feedback, answer key) may contain."""

from __future__ import annotations


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def strip_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n")
                     if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


def regions(source_nb) -> dict[str, set[str]]:
    """Significant lines (>= 25 characters) of a source notebook, by region: "hidden" tests,
    "solution" (code regions and written answers) and "public" (everything else)."""
    found: dict[str, set[str]] = {"hidden": set(), "solution": set(), "public": set()}
    for cell in source_nb.cells:
        region = "public"
        if cell.cell_type == "markdown" and nbgrader_meta(cell).get("solution"):
            region = "solution"
        for line in cell.source.split("\n"):
            if "BEGIN HIDDEN TESTS" in line:
                region = "hidden"
            elif "BEGIN SOLUTION" in line:
                region = "solution"
            elif "END HIDDEN TESTS" in line or "END SOLUTION" in line:
                region = "public"
            elif len(line.strip()) >= 25:
                found[region].add(line.strip())
    return found


def hidden_lines(source_nb) -> list[str]:
    """Lines only the hidden tests hold (not also in the solution or the statement)."""
    r = regions(source_nb)
    return sorted(r["hidden"] - r["solution"] - r["public"])


def solution_lines(source_nb) -> list[str]:
    """Lines only the solution holds (a given cell may legitimately repeat one)."""
    r = regions(source_nb)
    return sorted(r["solution"] - r["public"])

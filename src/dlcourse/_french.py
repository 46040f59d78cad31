"""Numbers written the French way, shared by the book helpers, the data notices, the widgets and
the training plots: decimal comma, narrow no-break space (U+202F) between thousands."""

from __future__ import annotations


def localise(text: str) -> str:
    """Turn a number formatted the English way (``1,234.5``) into the French way (``1 234,5``).

    >>> localise(f"{185300.25:,.1f}")
    '185\u202f300,2'
    """
    return text.replace(",", "\u202f").replace(".", ",")


def french_number(value: float, decimals: int = 0) -> str:
    """Format a number the French way: decimal comma, narrow no-break space between thousands.

    >>> french_number(185300)
    '185\u202f300'
    >>> french_number(92.54, 1)
    '92,5'
    """
    return localise(f"{float(value):,.{decimals}f}")


def french_tick_formatter():
    """A matplotlib ScalarFormatter whose tick labels and offset use the decimal comma (0,5)."""
    from matplotlib.ticker import ScalarFormatter

    class FrenchScalarFormatter(ScalarFormatter):
        @staticmethod
        def _comma(label: str) -> str:
            # Inside mathtext a bare comma is punctuation (followed by a space): {,} is the decimal mark.
            return label.replace(".", "{,}") if "$" in label else label.replace(".", ",")

        def __call__(self, x, pos=None):
            return self._comma(super().__call__(x, pos))

        def get_offset(self):
            return self._comma(super().get_offset())

    return FrenchScalarFormatter()

"""The write side: load, clean, chunk, embed, store.

``import assistant`` first so that the facade (which imports this package) is fully
initialised whichever of the two packages a program imports first.
"""

import assistant  # noqa: F401  (import order, see above)

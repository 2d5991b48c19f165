"""Drawing: HTML and SVG made from plain numbers the library computes (``views``, ``gated_view``,
``guess_view``) and the small widget helpers the tabs share (``widgets``). Nothing here holds state or starts
work."""

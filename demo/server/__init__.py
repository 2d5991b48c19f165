"""The server's machinery under the tabs: per-visitor sessions (``sessions``, the shipped models in
``shipped``), the order and admission of work (``scheduling``, ``admission``), what the sessions may hold and
give back (``memory``, ``allocator``), who is on the page (``presence``), a replica's identity and a restarted
process (``identity``), the input checks (``checks``), every cap in one place (``limits``) and Gradio's own costs
kept down (``gradio_costs``)."""

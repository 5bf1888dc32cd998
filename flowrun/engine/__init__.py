"""The engine: the event loop that runs flows (loop), its node bookkeeping (nodes), typed
events and timers (events), how attempts and nodes end (finishing), stopping early on -x
or Ctrl-C (stopping, interrupts), children and subflows (spawning). It knows hooks and the
plugin API, never a concrete executor, store or reporter."""

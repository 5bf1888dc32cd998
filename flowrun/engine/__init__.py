"""The engine: the event loop that runs flows (loop), its node bookkeeping (nodes), typed
events and timers (events), one node's life: decide, expand, retry, settle (life),
stopping early on -x or Ctrl-C (stopping, interrupts), children and subflows (spawning).
It knows hooks and the plugin API, never a concrete executor, store or reporter."""

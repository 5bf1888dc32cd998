"""The engine: the event loop that runs flows, its node bookkeeping, typed events and
timers, children and subflows, and interrupts. It knows hooks and the plugin API, never a
concrete executor, store or reporter."""

"""One moderated edit: configuration, wiring, the spine (flow), the policy, input checks."""

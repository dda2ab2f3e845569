"""The measurements, a module per phase. Each phase returns a dict for results.json; problems go
to `ctx.fail(...)`.

The same functions measure our stack and the reference design (bench/reference): what differs
between the two (tables, how a socket carries its token, the event's fields) comes from the
`Stack` in `ctx.stack`."""

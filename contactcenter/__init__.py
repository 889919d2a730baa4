"""The contact-center model: the config (parsing and checking, with every problem's path), the
model it builds (flows, nodes, queues, hours), opening hours and agents' shifts, and the refusals
the domain answers with. Everything may import it; it imports nothing of ours."""

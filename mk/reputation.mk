# Reputation and routing scale benchmarks (issue 5).
.PHONY: bench-reputation
bench-reputation: $(VENV)/.stamp
	$(VENV)/bin/python scripts/bench_reputation.py

# The routing evaluation on a dump tiled 1, 4, 16 and 64 times (time per test question).
.PHONY: bench-routing-eval
bench-routing-eval: $(VENV)/.stamp
	$(VENV)/bin/python scripts/bench_routing_eval.py

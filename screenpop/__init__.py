"""Screen pop: who is calling, shown to the agent before answering."""

"""The requester's side: who they are (a pseudonym), what they may see, and forgetting on purpose."""

"""Guards: text and image verdicts in the Qwen3Guard scheme, behind one small interface."""

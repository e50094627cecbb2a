"""The digital periphery beside the arrays: a vector unit for the work that is not a
weight MAC (elementwise, reductions, data movement, attention's activation x activation
matmuls), where each kind of work runs (placement), and its engine phases and costs."""

"""DCGO agents (Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization"): DCBO, CBO, ABO, BO
and the random-intervention baseline share one loop (`loop.run_replicate`); `gap` holds the metrics."""

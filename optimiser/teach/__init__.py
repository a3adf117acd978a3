"""Teaching tools for `hems plan`: the model in words, comparing two scenarios, plan charts.

Used by classroom exercises (exercises/, docs/classroom.md). Everything here builds on the planner's
public pipeline (`optimiser.plan.plan_scenario`, `optimiser.problem.resolve`, `optimiser.explain`).
"""

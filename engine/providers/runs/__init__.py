"""Run providers: Experiments and QualityGates (evaluation), LoadTests (Locust), Monitors."""

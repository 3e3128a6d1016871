"""The live node: real-time feeds, paper and live trading, its control API and metrics."""

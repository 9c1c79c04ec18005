def score(output, expected):
    return 1.0

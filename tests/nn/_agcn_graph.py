"""2s-AGCN's NTU-25 graph, transcribed for the oracles of tests/nn (shared by several test files)."""

# 2s-AGCN's NTU graph (graph/ntu_rgb_d.py): 1-based (child, parent) pairs, rooted at joint 21.
AGCN_NTU_INWARD = [
    (1, 2),
    (2, 21),
    (3, 21),
    (4, 3),
    (5, 21),
    (6, 5),
    (7, 6),
    (8, 7),
    (9, 21),
    (10, 9),
    (11, 10),
    (12, 11),
    (13, 1),
    (14, 13),
    (15, 14),
    (16, 15),
    (17, 1),
    (18, 17),
    (19, 18),
    (20, 19),
    (22, 23),
    (23, 8),
    (24, 25),
    (25, 12),
]

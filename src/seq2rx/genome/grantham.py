"""The Grantham amino-acid distance table (data only; `seq2rx.genome.protein.grantham` reads it).

Source: Grantham R. Amino acid difference formula to help explain protein evolution.
Science 185:862-864 (1974), Table 2.

The distance combines side-chain composition, polarity and volume. It is symmetric, 0 for a residue
with itself, and runs from 5 (Leu-Ile) to 215 (Cys-Trp). The table below keeps the paper's residue
order and its upper triangle: row `X` lists the distances from `X` to every residue after it in
`ORDER`, in that order. `GRANTHAM` expands it to one entry per unordered pair of different residues
(190 of them), keyed by `frozenset({a, b})`.
"""

from __future__ import annotations

#: The twenty standard residues in the order of Grantham's Table 2.
ORDER = "SRLPTAVGIFYCHQNKDEMW"

# fmt: off
_UPPER_TRIANGLE: dict[str, tuple[int, ...]] = {
    #      R    L    P    T    A    V    G    I    F    Y    C    H    Q    N    K    D    E    M    W
    "S": (110, 145,  74,  58,  99, 124,  56, 142, 155, 144, 112,  89,  68,  46, 121,  65,  80, 135, 177),
    #           L    P    T    A    V    G    I    F    Y    C    H    Q    N    K    D    E    M    W
    "R": (     102, 103,  71, 112,  96, 125,  97,  97,  77, 180,  29,  43,  86,  26,  96,  54,  91, 101),
    #                P    T    A    V    G    I    F    Y    C    H    Q    N    K    D    E    M    W
    "L": (           98,  92,  96,  32, 138,   5,  22,  36, 198,  99, 113, 153, 107, 172, 138,  15,  61),
    #                     T    A    V    G    I    F    Y    C    H    Q    N    K    D    E    M    W
    "P": (                38,  27,  68,  42,  95, 114, 110, 169,  77,  76,  91, 103, 108,  93,  87, 147),
    #                          A    V    G    I    F    Y    C    H    Q    N    K    D    E    M    W
    "T": (                     58,  69,  59,  89, 103,  92, 149,  47,  42,  65,  78,  85,  65,  81, 128),
    #                               V    G    I    F    Y    C    H    Q    N    K    D    E    M    W
    "A": (                          64,  60,  94, 113, 112, 195,  86,  91, 111, 106, 126, 107,  84, 148),
    #                                    G    I    F    Y    C    H    Q    N    K    D    E    M    W
    "V": (                              109,  29,  50,  55, 192,  84,  96, 133,  97, 152, 121,  21,  88),
    #                                         I    F    Y    C    H    Q    N    K    D    E    M    W
    "G": (                                   135, 153, 147, 159,  98,  87,  80, 127,  94,  98, 127, 184),
    #                                              F    Y    C    H    Q    N    K    D    E    M    W
    "I": (                                         21,  33, 198,  94, 109, 149, 102, 168, 134,  10,  61),
    #                                                   Y    C    H    Q    N    K    D    E    M    W
    "F": (                                              22, 205, 100, 116, 158, 102, 177, 140,  28,  40),
    #                                                        C    H    Q    N    K    D    E    M    W
    "Y": (                                                  194,  83,  99, 143,  85, 160, 122,  36,  37),
    #                                                             H    Q    N    K    D    E    M    W
    "C": (                                                       174, 154, 139, 202, 154, 170, 196, 215),
    #                                                                  Q    N    K    D    E    M    W
    "H": (                                                             24,  68,  32,  81,  40,  87, 115),
    #                                                                       N    K    D    E    M    W
    "Q": (                                                                  46,  53,  61,  29, 101, 130),
    #                                                                            K    D    E    M    W
    "N": (                                                                       94,  23,  42, 142, 174),
    #                                                                                 D    E    M    W
    "K": (                                                                           101,  56,  95, 110),
    #                                                                                      E    M    W
    "D": (                                                                                 45, 160, 181),
    #                                                                                           M    W
    "E": (                                                                                     126, 152),
    #                                                                                                W
    "M": (                                                                                           67,),
}
# fmt: on

#: Grantham distance for every unordered pair of two different standard residues.
GRANTHAM: dict[frozenset[str], int] = {
    frozenset({row, ORDER[ORDER.index(row) + 1 + k]}): value
    for row, values in _UPPER_TRIANGLE.items()
    for k, value in enumerate(values)
}

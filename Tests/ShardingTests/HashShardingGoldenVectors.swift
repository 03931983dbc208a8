/// Partitions a live PostgreSQL 15.18 chose for rows of hash-partitioned tables, each made by
///
///     CREATE TABLE p (k bigint) PARTITION BY HASH (k);
///     CREATE TABLE p_0 PARTITION OF p FOR VALUES WITH (MODULUS 4, REMAINDER 0); -- ... p_3
///
/// (likewise with MODULUS 3, and with `k text`, `k uuid` and `(a bigint, b text)` keys), filled
/// with the keys below and read back with
///
///     SELECT k, substring(tableoid::regclass::text from '_(\d+)$')::int FROM p;
enum HashShardingGoldenVectors {
    /// Partition index of every bigint key in `-50...200`, one digit per key in key order.
    /// `integer` and `smallint` tables with the same keys gave the same digits.
    static let bigintRange: ClosedRange<Int64> = -50...200
    static let bigintRangeModulus4: String =
        "21103203200011221230310222031330023131113312232021002131331131020300211132320203" +
        "01030111123122001222022203133001220300111011021210203020320110122113121021033003" +
        "11020212101330302322123202230222022123122000100223211310002120232301220310100200" +
        "13010312233"
    static let bigintRangeModulus3: String =
        "02022002221200211201111100221002001122120020112112220102010212211002000122211020" +
        "22200212021202101102001101201101011021222201201211201202022211221201212222022201" +
        "10001012102201222012220212112100002110222000221101201011121220220100021102200221" +
        "12112110220"

    static let bigintExtremes: [(key: Int64, modulus4: Int, modulus3: Int)] = [
        (-9223372036854775808, 3, 1),
        (-2147483649, 3, 1),
        (-2147483648, 2, 0),
        (2147483647, 3, 1),
        (2147483648, 2, 0),
        (4294967296, 0, 2),
        (1234567890123, 3, 0),
        (9223372036854775807, 2, 0),
    ]

    /// `integer` and `smallint` tables, modulus 4.
    static let int4Extremes: [(key: Int32, modulus4: Int)] = [
        (-2147483648, 2),
        (2147483647, 3),
    ]
    static let int2Extremes: [(key: Int16, modulus4: Int)] = [
        (-32768, 1),
        (32767, 2),
    ]

    /// A `varchar(40)` table with the same keys gave the same partitions as `text`.
    static let text: [(key: String, modulus4: Int, modulus3: Int)] = [
        ("", 2, 2),
        ("a", 2, 2),
        ("b", 2, 0),
        ("hello", 0, 1),
        ("héllo", 3, 0),
        ("日本", 3, 2),
        ("tenant-1", 3, 0),
        ("tenant-2", 0, 0),
        ("tenant-3", 0, 1),
        ("hello world", 0, 1),
        ("abcdefghijkl", 1, 1),
        ("abcdefghijklm", 2, 1),
        ("Ünïcödé-Straße", 3, 2),
        ("🐘", 3, 2),
        ("user1", 3, 2),
        ("user2", 2, 1),
        ("user3", 1, 2),
        ("user4", 0, 2),
        ("user5", 1, 2),
        ("user6", 1, 1),
        ("user7", 2, 0),
        ("user8", 3, 1),
        ("user9", 2, 1),
        ("user10", 1, 2),
        ("user11", 2, 2),
        ("user12", 2, 2),
        ("user13", 3, 0),
        ("user14", 1, 0),
        ("user15", 1, 1),
        ("user16", 3, 2),
        ("user17", 3, 2),
        ("user18", 1, 2),
        ("user19", 3, 2),
        ("user20", 2, 2),
        ("user21", 3, 1),
        ("user22", 0, 2),
        ("user23", 0, 1),
        ("user24", 2, 2),
        ("user25", 1, 0),
        ("user26", 0, 0),
        ("user27", 2, 0),
        ("user28", 3, 2),
        ("user29", 3, 1),
        ("user30", 3, 1),
    ]

    static let uuid: [(key: String, modulus4: Int, modulus3: Int)] = [
        ("c4ca4238-a0b9-2382-0dcc-509a6f75849b", 0, 0),
        ("c81e728d-9d4c-2f63-6f06-7f89cc14862c", 3, 2),
        ("eccbc87e-4b5c-e2fe-2830-8fd9f2a7baf3", 0, 1),
        ("a87ff679-a2f3-e71d-9181-a67b7542122c", 2, 0),
        ("e4da3b7f-bbce-2345-d777-2b0674a318d5", 1, 0),
        ("1679091c-5a88-0faf-6fb5-e6087eb1b2dc", 3, 0),
        ("8f14e45f-ceea-167a-5a36-dedd4bea2543", 1, 0),
        ("c9f0f895-fb98-ab91-59f5-1fd0297e236d", 0, 0),
        ("45c48cce-2e2d-7fbd-ea1a-fc51c7c6ad26", 1, 1),
        ("d3d94468-02a4-4259-755d-38e6d163e820", 2, 2),
        ("6512bd43-d9ca-a6e0-2c99-0b0a82652dca", 1, 2),
        ("c20ad4d7-6fe9-7759-aa27-a0c99bff6710", 3, 2),
        ("c51ce410-c124-a10e-0db5-e4b97fc2af39", 0, 2),
        ("aab32389-22bc-c25a-6f60-6eb525ffdc56", 1, 1),
        ("9bf31c7f-f062-936a-96d3-c8bd1f8f2ff3", 3, 2),
        ("c74d97b0-1eae-257e-44aa-9d5bade97baf", 0, 1),
        ("70efdf2e-c9b0-8607-9795-c442636b55fb", 3, 0),
        ("6f4922f4-5568-161a-8cdf-4ad2299f6d23", 2, 0),
        ("1f0e3dad-9990-8345-f743-9f8ffabdffc4", 0, 0),
        ("98f13708-2101-94c4-7568-7be6106a3b84", 2, 1),
        ("3c59dc04-8e88-5024-3be8-079a5c74d079", 0, 1),
        ("b6d767d2-f8ed-5d21-a44b-0e5886680cb9", 0, 0),
        ("37693cfc-7480-49e4-5d87-b8c7d8b9aacd", 0, 2),
        ("1ff1de77-4005-f8da-13f4-2943881c655f", 2, 1),
        ("00000000-0000-0000-0000-000000000000", 1, 0),
        ("ffffffff-ffff-ffff-ffff-ffffffffffff", 1, 1),
        ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", 0, 1),
    ]

    /// `PARTITION BY HASH (a, b)` with `a bigint, b text`; `nil` is SQL NULL.
    static let composite: [(a: Int64?, b: String?, modulus4: Int, modulus3: Int)] = [
        (1, "a", 1, 1),
        (1, "b", 1, 0),
        (2, "a", 2, 1),
        (0, "", 1, 2),
        (-1, "héllo", 3, 2),
        (42, "日本", 1, 1),
        (9223372036854775807, "max", 3, 0),
        (-9223372036854775808, "min", 3, 1),
        (7, nil, 3, 1),
        (nil, "only text", 0, 2),
        (nil, nil, 0, 0),
        (nil, "", 2, 2),
        (0, nil, 0, 2),
        (-5, "tenant-0", 0, 2),
        (-4, "tenant--4", 3, 2),
        (-3, "tenant--3", 3, 2),
        (-2, "tenant--2", 1, 2),
        (-1, "tenant--1", 2, 1),
        (0, "tenant-0", 3, 2),
        (1, "tenant-1", 2, 1),
        (2, "tenant-2", 0, 2),
        (3, "tenant-3", 0, 2),
        (4, "tenant-4", 2, 1),
        (5, "tenant-0", 3, 2),
        (6, "tenant-1", 0, 2),
        (7, "tenant-2", 1, 0),
        (8, "tenant-3", 3, 1),
        (9, "tenant-4", 3, 1),
        (10, "tenant-0", 3, 0),
        (11, "tenant-1", 2, 1),
        (12, "tenant-2", 1, 0),
        (13, "tenant-3", 3, 2),
        (14, "tenant-4", 2, 2),
        (15, "tenant-0", 3, 1),
        (16, "tenant-1", 1, 1),
        (17, "tenant-2", 1, 0),
        (18, "tenant-3", 1, 2),
        (19, "tenant-4", 1, 1),
        (20, "tenant-0", 2, 2),
    ]
}

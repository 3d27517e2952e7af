SELECT
  COUNT(*) AS m0,
  COUNT("id") AS m1,
  COUNT(*) FILTER(WHERE
    CAST("age" AS DOUBLE) / NULLIF(2, 0) > 10) AS m2,
  COUNT("email") FILTER(WHERE
    CAST("age" AS DOUBLE) / NULLIF(2, 0) > 10) AS m3,
  COUNT(*) FILTER(WHERE
    COALESCE(REGEXP_LIKE("name", '^(?:[a-z]+)$'), FALSE)) AS m4,
  COUNT("name") AS m5,
  COUNT(*) FILTER(WHERE
    COALESCE("age" > 18 AND "age" < 65, FALSE)) AS m6,
  COUNT("age") AS m7,
  COUNT(*) FILTER(WHERE
    (
      COALESCE("name" IN ('ann', 'bob'), FALSE) OR "name" IS NULL
    )) AS m8,
  COUNT(*) FILTER(WHERE
    COALESCE(NOT (
      "email" = ''
    ), TRUE)) AS m9,
  COUNT("email") AS m10,
  MIN("age") AS m11,
  COUNT(*) FILTER(WHERE
    COALESCE("age" >= 0, FALSE)) AS m12,
  AVG("age") AS m13,
  STDDEV_POP("age") AS m14,
  SUM("score") AS m15,
  MIN(LENGTH(COALESCE("name", ''))) AS m16,
  MAX(LENGTH(COALESCE("name", ''))) AS m17,
  COUNT(*) FILTER(WHERE
    COALESCE(LENGTH(COALESCE("name", '')) <= 5, FALSE)) AS m18,
  COUNT(*) FILTER(WHERE
    COALESCE("joined" >= CAST('2024-05-03 00:00:00.000000' AS TIMESTAMP), FALSE)) AS m19,
  COUNT("joined") AS m20,
  COUNT(*) FILTER(WHERE
    NOT TRY_CAST("code" AS INTEGER) IS NULL) AS m21,
  COUNT("code") AS m22,
  CORR("id", "age") AS m23,
  APPROX_PERCENTILE("age", 0.75) - APPROX_PERCENTILE("age", 0.25) AS m24,
  COUNT(*) FILTER(WHERE
    COALESCE("joined" > CAST('2024-05-26 00:00:00.000000' AS TIMESTAMP), FALSE)) AS m25,
  COUNT(*) FILTER(WHERE
    COALESCE("age" > 30, FALSE)) AS m26,
  MIN("score") AS m27,
  COUNT(*) FILTER(WHERE
    COALESCE("score" > 1, FALSE)) AS m28,
  COUNT("score") AS m29
FROM "primary";

SELECT
  SUM(n0) FILTER(WHERE
    nn) AS g0_rows0,
  COUNT(*) FILTER(WHERE
    nn AND n0 = 1) AS g0_unique0
FROM (
  SELECT
    (
      NOT "id" IS NULL
    ) AS nn,
    COUNT(*) AS n0
  FROM "primary"
  GROUP BY
    "id"
) AS freq;

SELECT
  SUM(n0) FILTER(WHERE
    nn) AS g1_rows0,
  COUNT(*) FILTER(WHERE
    nn AND n0 = 1) AS g1_unique0
FROM (
  SELECT
    (
      NOT "id" IS NULL OR NOT "name" IS NULL
    ) AS nn,
    COUNT(*) AS n0
  FROM "primary"
  GROUP BY
    "id",
    "name"
) AS freq;

SELECT
  COUNT(*) FILTER(WHERE
    nn AND n0 > 0) AS g2_distinct0,
  COUNT(*) FILTER(WHERE
    NOT nn AND n0 > 0) AS g2_nullgroups0,
  SUM(n0) FILTER(WHERE
    nn) AS g2_rows0,
  SUM(n0 * LN(n0)) FILTER(WHERE
    nn AND n0 > 0) AS g2_plogp0,
  COUNT(*) FILTER(WHERE
    nn AND n1 > 0) AS g2_distinct1,
  COUNT(*) FILTER(WHERE
    nn AND n1 = 1) AS g2_unique1
FROM (
  SELECT
    (
      NOT "name" IS NULL
    ) AS nn,
    COUNT(*) AS n0,
    COUNT(*) FILTER(WHERE
      age > 20) AS n1
  FROM "primary"
  GROUP BY
    "name"
) AS freq;

SELECT
  COUNT(*)
FROM "primary" AS "primary"
WHERE
  age > 30;

-- Athena (Trino) SQL -> the DuckDB SQL oaklake runs, one case per "-- name:" block.
--
-- Each block holds the Athena input, "-- duckdb:" (what sqlglot 30.30 emits today: the golden),
-- "-- athena result:" (the rows Athena would return, worked out from Trino's documented
-- semantics, as a Python literal) and, where DuckDB answers differently, "-- wrong:" with why.
-- tests/engine/test_translate.py checks the golden and runs each case through oaklake; "wrong"
-- cases are strict xfails. Rewrite the duckdb lines with:
--   OAKLAKE_UPDATE_GOLDEN=1 uv run pytest tests/engine/test_translate.py

-- name: approx_distinct
SELECT approx_distinct(x) AS n FROM (VALUES (1), (2), (2)) AS t(x)
-- duckdb: SELECT APPROX_COUNT_DISTINCT(x) AS n FROM (VALUES (1), (2), (2)) AS t(x)
-- athena result: [(2,)]

-- name: approx_percentile
SELECT approx_percentile(x, 0.5) AS p FROM (VALUES (1), (2), (3)) AS t(x)
-- duckdb: SELECT APPROX_QUANTILE(x, 0.5) AS p FROM (VALUES (1), (2), (3)) AS t(x)
-- athena result: [(2,)]

-- name: approx_percentile_array
SELECT approx_percentile(x, ARRAY[0.5, 0.9]) AS p FROM (VALUES (1), (2), (3)) AS t(x)
-- duckdb: SELECT APPROX_QUANTILE(x, [0.5, 0.9]) AS p FROM (VALUES (1), (2), (3)) AS t(x)
-- athena result: [([2, 3],)]

-- name: count_if
SELECT count_if(x > 1) AS n FROM (VALUES (1), (2), (3)) AS t(x)
-- duckdb: SELECT COUNT_IF(x > 1) AS n FROM (VALUES (1), (2), (3)) AS t(x)
-- athena result: [(2,)]

-- name: count_filter
SELECT count(*) FILTER (WHERE x > 1) AS n FROM (VALUES (1), (2), (3)) AS t(x)
-- duckdb: SELECT COUNT(*) FILTER(WHERE x > 1) AS n FROM (VALUES (1), (2), (3)) AS t(x)
-- athena result: [(2,)]

-- name: bool_and_or
SELECT bool_and(x > 0) AS a, bool_or(x > 2) AS o FROM (VALUES (1), (2), (3)) AS t(x)
-- duckdb: SELECT BOOL_AND(CAST(x > 0 AS BOOLEAN)) AS a, BOOL_OR(CAST(x > 2 AS BOOLEAN)) AS o FROM (VALUES (1), (2), (3)) AS t(x)
-- athena result: [(True, True)]

-- name: max_by_min_by
SELECT max_by(x, y) AS hi, min_by(x, y) AS lo FROM (VALUES ('a', 1), ('b', 2)) AS t(x, y)
-- duckdb: SELECT ARG_MAX(x, y) AS hi, ARG_MIN(x, y) AS lo FROM (VALUES ('a', 1), ('b', 2)) AS t(x, y)
-- athena result: [('b', 'a')]

-- name: arbitrary
SELECT arbitrary(x) AS a FROM (VALUES (7)) AS t(x)
-- duckdb: SELECT ANY_VALUE(x) AS a FROM (VALUES (7)) AS t(x)
-- athena result: [(7,)]

-- name: array_agg_order_by
SELECT array_agg(x ORDER BY x) AS xs FROM (VALUES (3), (1), (2)) AS t(x)
-- duckdb: SELECT ARRAY_AGG(x ORDER BY x) AS xs FROM (VALUES (3), (1), (2)) AS t(x)
-- athena result: [([1, 2, 3],)]

-- name: listagg
SELECT listagg(x, ',') WITHIN GROUP (ORDER BY x) AS xs FROM (VALUES ('b'), ('a')) AS t(x)
-- duckdb: SELECT LISTAGG(x, ',' ORDER BY x) AS xs FROM (VALUES ('b'), ('a')) AS t(x)
-- athena result: [('a,b',)]

-- name: stddev_variance
SELECT stddev(x) AS s, variance(x) AS v FROM (VALUES (1), (2), (3)) AS t(x)
-- duckdb: SELECT STDDEV(x) AS s, VARIANCE(x) AS v FROM (VALUES (1), (2), (3)) AS t(x)
-- athena result: [(1.0, 1.0)]

-- name: geometric_mean
SELECT geometric_mean(x) AS g FROM (VALUES (1), (4)) AS t(x)
-- duckdb: SELECT GEOMETRIC_MEAN(x) AS g FROM (VALUES (1), (4)) AS t(x)
-- athena result: [(2.0,)]

-- name: sum_integer_widens_to_bigint
SELECT sum(x) AS s FROM (VALUES (CAST(2147483647 AS integer)), (CAST(1 AS integer))) AS t(x)
-- duckdb: SELECT SUM(x) AS s FROM (VALUES (CAST(2147483647 AS INT)), (CAST(1 AS INT))) AS t(x)
-- athena result: [(2147483648,)]

-- name: map_agg
SELECT element_at(map_agg(x, y), 'b') AS v FROM (VALUES ('a', 1), ('b', 2)) AS t(x, y)
-- duckdb: SELECT MAP_FROM_ENTRIES(LIST_TRANSFORM([LIST_SORT(ARRAY_AGG({'k': x, 'v': y}) FILTER(WHERE NOT x IS NULL))], LAMBDA __e : LIST_FILTER(__e, LAMBDA __x, __i : __i = 1 OR __e[__i - 1].k <> __x.k))[1])['b'] AS v FROM (VALUES ('a', 1), ('b', 2)) AS t(x, y)
-- athena result: [(2,)]

-- name: date_trunc_month_timestamp
SELECT date_trunc('month', TIMESTAMP '2024-03-15 10:11:12')
-- duckdb: SELECT DATE_TRUNC('MONTH', CAST('2024-03-15 10:11:12' AS TIMESTAMP(0)))
-- athena result: [(datetime(2024, 3, 1, 0, 0),)]

-- name: date_trunc_week_timestamp
SELECT date_trunc('week', TIMESTAMP '2024-03-15 10:00:00')
-- duckdb: SELECT DATE_TRUNC('WEEK', CAST('2024-03-15 10:00:00' AS TIMESTAMP(0)))
-- athena result: [(datetime(2024, 3, 11, 0, 0),)]

-- name: date_trunc_week_date
SELECT date_trunc('week', DATE '2024-03-15')
-- duckdb: SELECT TIME_BUCKET(INTERVAL '7' DAYS, CAST('2024-03-15' AS DATE))
-- athena result: [(date(2024, 3, 11),)]

-- name: date_add_hour_negative
SELECT date_add('hour', -2, TIMESTAMP '2024-01-01 01:00:00')
-- duckdb: SELECT CAST('2024-01-01 01:00:00' AS TIMESTAMP(0)) + INTERVAL (-2) HOUR
-- athena result: [(datetime(2023, 12, 31, 23, 0),)]

-- name: date_add_month_clamps
SELECT date_add('month', 1, TIMESTAMP '2024-01-31 10:00:00')
-- duckdb: SELECT CAST('2024-01-31 10:00:00' AS TIMESTAMP(0)) + INTERVAL 1 MONTH
-- athena result: [(datetime(2024, 2, 29, 10, 0),)]

-- name: date_add_day_on_date
SELECT date_add('day', 3, DATE '2024-01-30')
-- duckdb: SELECT CAST(CAST('2024-01-30' AS DATE) + INTERVAL 3 DAY AS DATE)
-- athena result: [(date(2024, 2, 2),)]

-- name: date_add_day_on_date_as_varchar
SELECT CAST(date_add('day', 1, DATE '2024-01-01') AS varchar)
-- duckdb: SELECT CAST(CAST(CAST('2024-01-01' AS DATE) + INTERVAL 1 DAY AS DATE) AS TEXT)
-- athena result: [('2024-01-02',)]

-- name: date_plus_interval_month
SELECT DATE '2024-01-31' + INTERVAL '1' MONTH
-- duckdb: SELECT CAST(CAST('2024-01-31' AS DATE) + INTERVAL '1' MONTH AS DATE)
-- athena result: [(date(2024, 2, 29),)]

-- name: timestamp_plus_interval_day
SELECT TIMESTAMP '2024-01-01 10:00:00' + INTERVAL '1' DAY
-- duckdb: SELECT CAST('2024-01-01 10:00:00' AS TIMESTAMP(0)) + INTERVAL '1' DAY
-- athena result: [(datetime(2024, 1, 2, 10, 0),)]

-- name: timestamp_minus_interval_minutes
SELECT CAST('2024-03-10 10:00:00' AS timestamp) - INTERVAL '90' MINUTE
-- duckdb: SELECT CAST('2024-03-10 10:00:00' AS TIMESTAMP) - INTERVAL '90' MINUTE
-- athena result: [(datetime(2024, 3, 10, 8, 30),)]

-- name: date_diff_day_dates
SELECT date_diff('day', DATE '2024-01-01', DATE '2024-03-01')
-- duckdb: SELECT DATE_SUB('DAY', CAST('2024-01-01' AS DATE), CAST('2024-03-01' AS DATE))
-- athena result: [(60,)]

-- name: date_diff_second
SELECT date_diff('second', TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-01 00:01:00')
-- duckdb: SELECT DATE_SUB('SECOND', CAST('2024-01-01 00:00:00' AS TIMESTAMP(0)), CAST('2024-01-01 00:01:00' AS TIMESTAMP(0)))
-- athena result: [(60,)]

-- name: date_diff_week
SELECT date_diff('week', DATE '2024-01-01', DATE '2024-01-14')
-- duckdb: SELECT DATE_SUB('WEEK', CAST('2024-01-01' AS DATE), CAST('2024-01-14' AS DATE))
-- athena result: [(1,)]

-- name: date_diff_month_whole_months
SELECT date_diff('month', DATE '2024-01-15', DATE '2024-03-15')
-- duckdb: SELECT DATE_SUB('MONTH', CAST('2024-01-15' AS DATE), CAST('2024-03-15' AS DATE))
-- athena result: [(2,)]

-- name: date_diff_day_partial
SELECT date_diff('day', TIMESTAMP '2024-01-01 23:00:00', TIMESTAMP '2024-01-02 01:00:00')
-- duckdb: SELECT DATE_SUB('DAY', CAST('2024-01-01 23:00:00' AS TIMESTAMP(0)), CAST('2024-01-02 01:00:00' AS TIMESTAMP(0)))
-- athena result: [(0,)]

-- name: date_diff_month_partial
SELECT date_diff('month', DATE '2024-01-31', DATE '2024-02-01')
-- duckdb: SELECT DATE_SUB('MONTH', CAST('2024-01-31' AS DATE), CAST('2024-02-01' AS DATE))
-- athena result: [(0,)]

-- name: date_diff_year_partial
SELECT date_diff('year', DATE '2023-12-31', DATE '2024-01-01')
-- duckdb: SELECT DATE_SUB('YEAR', CAST('2023-12-31' AS DATE), CAST('2024-01-01' AS DATE))
-- athena result: [(0,)]

-- name: date_diff_hour_partial
SELECT date_diff('hour', TIMESTAMP '2024-01-01 00:59:00', TIMESTAMP '2024-01-01 01:01:00')
-- duckdb: SELECT DATE_SUB('HOUR', CAST('2024-01-01 00:59:00' AS TIMESTAMP(0)), CAST('2024-01-01 01:01:00' AS TIMESTAMP(0)))
-- athena result: [(0,)]

-- name: from_unixtime
SELECT from_unixtime(1700000000)
-- duckdb: SELECT TO_TIMESTAMP(1700000000)
-- athena result: [(datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),)]

-- name: from_unixtime_fraction
SELECT from_unixtime(1700000000.5)
-- duckdb: SELECT TO_TIMESTAMP(1700000000.5)
-- athena result: [(datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC),)]

-- name: from_unixtime_with_zone
SELECT hour(from_unixtime(0, 'America/New_York'))
-- duckdb: SELECT HOUR(TO_TIMESTAMP(0))
-- athena result: [(19,)]
-- wrong: the zone argument is dropped (TO_TIMESTAMP(0)), so the hour is UTC's 0 instead of New York's 19

-- name: to_unixtime
SELECT to_unixtime(TIMESTAMP '2024-01-01 00:00:00')
-- duckdb: SELECT EPOCH(CAST('2024-01-01 00:00:00' AS TIMESTAMP(0)))
-- athena result: [(1704067200.0,)]

-- name: date_format
SELECT date_format(TIMESTAMP '2024-03-05 14:07:09', '%Y-%m-%d %H:%i:%s')
-- duckdb: SELECT STRFTIME(CAST('2024-03-05 14:07:09' AS TIMESTAMP(0)), '%Y-%m-%d %H:%M:%S')
-- athena result: [('2024-03-05 14:07:09',)]

-- name: date_format_names
SELECT date_format(TIMESTAMP '2024-03-05 14:07:09', '%b %e %W')
-- duckdb: SELECT STRFTIME(CAST('2024-03-05 14:07:09' AS TIMESTAMP(0)), '%b %-d %A')
-- athena result: [('Mar 5 Tuesday',)]

-- name: date_parse
SELECT date_parse('2024-03-05 14:07', '%Y-%m-%d %H:%i')
-- duckdb: SELECT STRPTIME('2024-03-05 14:07', '%Y-%m-%d %H:%M')
-- athena result: [(datetime(2024, 3, 5, 14, 7),)]

-- name: date_parse_compact
SELECT date_parse('20240305', '%Y%m%d')
-- duckdb: SELECT STRPTIME('20240305', '%Y%m%d')
-- athena result: [(datetime(2024, 3, 5, 0, 0),)]

-- name: parse_datetime
SELECT parse_datetime('2024-03-05 14:07', 'yyyy-MM-dd HH:mm')
-- duckdb: SELECT CAST(STRPTIME('2024-03-05 14:07', '%Y-%m-%d %H:%M') AS TIMESTAMPTZ)
-- athena result: [(datetime(2024, 3, 5, 14, 7, tzinfo=UTC),)]

-- name: format_datetime
SELECT format_datetime(TIMESTAMP '2024-03-05 14:07:09', 'yyyy-MM-dd HH:mm:ss')
-- duckdb: SELECT STRFTIME(CAST('2024-03-05 14:07:09' AS TIMESTAMP(0)), '%Y-%m-%d %H:%M:%S')
-- athena result: [('2024-03-05 14:07:09',)]

-- name: from_iso8601_timestamp
SELECT from_iso8601_timestamp('2024-03-05T14:07:09Z')
-- duckdb: SELECT CAST('2024-03-05T14:07:09Z' AS TIMESTAMPTZ)
-- athena result: [(datetime(2024, 3, 5, 14, 7, 9, tzinfo=UTC),)]

-- name: from_iso8601_date
SELECT from_iso8601_date('2024-03-05')
-- duckdb: SELECT CAST('2024-03-05' AS DATE)
-- athena result: [(date(2024, 3, 5),)]

-- name: to_iso8601
SELECT to_iso8601(TIMESTAMP '2024-03-05 14:07:09')
-- duckdb: SELECT STRFTIME(CAST('2024-03-05 14:07:09' AS TIMESTAMP(0)), '%Y-%m-%dT%H:%M:%S')
-- athena result: [('2024-03-05T14:07:09',)]

-- name: day_of_week
SELECT day_of_week(DATE '2024-03-10'), dow(DATE '2024-03-11')
-- duckdb: SELECT ISODOW(CAST('2024-03-10' AS DATE)), ISODOW(CAST('2024-03-11' AS DATE))
-- athena result: [(7, 1)]

-- name: week_year_quarter
SELECT quarter(DATE '2024-12-31'), year_of_week(DATE '2024-12-31'), week_of_year(DATE '2024-12-31')
-- duckdb: SELECT QUARTER(CAST('2024-12-31' AS DATE)), EXTRACT(ISOYEAR FROM CAST('2024-12-31' AS DATE)), WEEKOFYEAR(CAST('2024-12-31' AS DATE))
-- athena result: [(4, 2025, 1)]

-- name: day_of_year
SELECT day_of_year(DATE '2024-12-31'), doy(DATE '2024-03-10')
-- duckdb: SELECT DAYOFYEAR(CAST('2024-12-31' AS DATE)), DAYOFYEAR(CAST('2024-03-10' AS DATE))
-- athena result: [(366, 70)]

-- name: date_parts
SELECT year(DATE '2024-03-10'), month(DATE '2024-03-10'), day(DATE '2024-03-10')
-- duckdb: SELECT YEAR(CAST('2024-03-10' AS DATE)), MONTH(CAST('2024-03-10' AS DATE)), DAY(CAST('2024-03-10' AS DATE))
-- athena result: [(2024, 3, 10)]

-- name: time_parts
SELECT hour(TIMESTAMP '2024-03-10 13:14:15'), minute(TIMESTAMP '2024-03-10 13:14:15'), second(TIMESTAMP '2024-03-10 13:14:15')
-- duckdb: SELECT HOUR(CAST('2024-03-10 13:14:15' AS TIMESTAMP(0))), MINUTE(CAST('2024-03-10 13:14:15' AS TIMESTAMP(0))), SECOND(CAST('2024-03-10 13:14:15' AS TIMESTAMP(0)))
-- athena result: [(13, 14, 15)]

-- name: millisecond
SELECT millisecond(TIMESTAMP '2024-01-01 00:00:00.123')
-- duckdb: SELECT MILLISECOND(CAST('2024-01-01 00:00:00.123' AS TIMESTAMP(3)))
-- athena result: [(123,)]

-- name: last_day_of_month
SELECT last_day_of_month(DATE '2024-02-10')
-- duckdb: SELECT LAST_DAY(CAST('2024-02-10' AS DATE))
-- athena result: [(date(2024, 2, 29),)]

-- name: timestamp_literal_millis
SELECT TIMESTAMP '2024-01-01 10:00:00.123'
-- duckdb: SELECT CAST('2024-01-01 10:00:00.123' AS TIMESTAMP(3))
-- athena result: [(datetime(2024, 1, 1, 10, 0, 0, 123000),)]

-- name: timestamp_literal_utc
SELECT TIMESTAMP '2024-01-02 00:00:00 UTC'
-- duckdb: SELECT CAST('2024-01-02 00:00:00 UTC' AS TIMESTAMPTZ)
-- athena result: [(datetime(2024, 1, 2, 0, 0, tzinfo=UTC),)]

-- name: timestamp_literal_offset
SELECT TIMESTAMP '2024-01-02 00:00:00 +01:00'
-- duckdb: SELECT CAST('2024-01-02 00:00:00 +01:00' AS TIMESTAMPTZ)
-- athena result: [(datetime(2024, 1, 1, 23, 0, tzinfo=UTC),)]
-- wrong: DuckDB cannot read the ' +01:00' offset in the string ("Unknown TimeZone '+01:00'"); dropping the space before the offset fixes it, but tests/engine/test_time_travel.py holds a strict xfail on the same behaviour that has to go in the same change

-- name: at_time_zone
SELECT TIMESTAMP '2024-01-01 10:00:00' AT TIME ZONE 'America/New_York'
-- duckdb: SELECT CAST('2024-01-01 10:00:00' AS TIMESTAMP(0)) AT TIME ZONE 'America/New_York'
-- athena result: [(datetime(2024, 1, 1, 10, 0, tzinfo=UTC),)]
-- wrong: DuckDB reads the zone-less timestamp as New York local time (15:00 UTC); Athena reads it in the session zone, UTC, and shows that instant in New York

-- name: at_timezone_function
SELECT at_timezone(TIMESTAMP '2024-01-01 10:00:00 UTC', 'America/New_York')
-- duckdb: SELECT AT_TIMEZONE(CAST('2024-01-01 10:00:00 UTC' AS TIMESTAMPTZ), 'America/New_York')
-- athena result: [(datetime(2024, 1, 1, 10, 0, tzinfo=UTC),)]
-- wrong: emitted unchanged as AT_TIMEZONE, which DuckDB does not have

-- name: current_timezone
SELECT current_timezone()
-- duckdb: SELECT CURRENT_SETTING('TimeZone')
-- athena result: [('UTC',)]

-- name: current_date_is_today
SELECT current_date = CAST(current_timestamp AS date)
-- duckdb: SELECT CURRENT_DATE = CAST(CURRENT_TIMESTAMP AS DATE)
-- athena result: [(True,)]

-- name: cast_timestamp_to_date
SELECT CAST(TIMESTAMP '2024-01-01 10:00:00' AS date), date(TIMESTAMP '2024-01-01 10:00:00')
-- duckdb: SELECT CAST(CAST('2024-01-01 10:00:00' AS TIMESTAMP(0)) AS DATE), CAST(CAST('2024-01-01 10:00:00' AS TIMESTAMP(0)) AS DATE)
-- athena result: [(date(2024, 1, 1), date(2024, 1, 1))]

-- name: cast_date_and_timestamp_to_varchar
SELECT CAST(DATE '2024-01-02' AS varchar), CAST(TIMESTAMP '2024-01-02 03:04:05' AS varchar)
-- duckdb: SELECT CAST(CAST('2024-01-02' AS DATE) AS TEXT), CAST(CAST('2024-01-02 03:04:05' AS TIMESTAMP(0)) AS TEXT)
-- athena result: [('2024-01-02', '2024-01-02 03:04:05')]

-- name: regexp_like
SELECT regexp_like('abc123', '[0-9]+')
-- duckdb: SELECT REGEXP_MATCHES('abc123', '[0-9]+')
-- athena result: [(True,)]

-- name: regexp_extract
SELECT regexp_extract('abc123def', '[0-9]+'), regexp_extract('abc123def', '([a-z]+)([0-9]+)', 1)
-- duckdb: SELECT CASE WHEN REGEXP_MATCHES('abc123def', '[0-9]+') THEN REGEXP_EXTRACT('abc123def', '[0-9]+') END, CASE WHEN REGEXP_MATCHES('abc123def', '([a-z]+)([0-9]+)') THEN REGEXP_EXTRACT('abc123def', '([a-z]+)([0-9]+)', 1) END
-- athena result: [('123', 'abc')]

-- name: regexp_extract_no_match
SELECT regexp_extract('abc', '[0-9]+')
-- duckdb: SELECT CASE WHEN REGEXP_MATCHES('abc', '[0-9]+') THEN REGEXP_EXTRACT('abc', '[0-9]+') END
-- athena result: [(None,)]

-- name: regexp_extract_all
SELECT regexp_extract_all('a1b22c', '[0-9]+')
-- duckdb: SELECT REGEXP_EXTRACT_ALL('a1b22c', '[0-9]+')
-- athena result: [(['1', '22'],)]

-- name: regexp_count
SELECT regexp_count('a1b22c', '[0-9]+')
-- duckdb: SELECT CASE WHEN '[0-9]+' = '' THEN 0 ELSE LENGTH(REGEXP_EXTRACT_ALL('a1b22c', '[0-9]+')) END
-- athena result: [(2,)]

-- name: regexp_replace
SELECT regexp_replace('a1b2', '[0-9]', 'X'), regexp_replace('abc', 'b')
-- duckdb: SELECT REGEXP_REPLACE('a1b2', '[0-9]', 'X', 'g'), REGEXP_REPLACE('abc', 'b', '', 'g')
-- athena result: [('aXbX', 'ac')]

-- name: regexp_replace_backreference
SELECT regexp_replace('a1b2', '([a-z])([0-9])', '$2$1')
-- duckdb: SELECT REGEXP_REPLACE('a1b2', '([a-z])([0-9])', '\2\1', 'g')
-- athena result: [('1a2b',)]

-- name: regexp_split
SELECT regexp_split('a1b2c', '[0-9]')
-- duckdb: SELECT STR_SPLIT_REGEX('a1b2c', '[0-9]')
-- athena result: [(['a', 'b', 'c'],)]

-- name: split
SELECT split('a,b,c', ',')
-- duckdb: SELECT STR_SPLIT('a,b,c', ',')
-- athena result: [(['a', 'b', 'c'],)]

-- name: split_with_limit
SELECT split('a,b,c', ',', 2)
-- duckdb: SELECT CASE WHEN LENGTH(STR_SPLIT('a,b,c', ',')) > 2 THEN LIST_SLICE(STR_SPLIT('a,b,c', ','), 1, 2 - 1) || [ARRAY_TO_STRING(LIST_SLICE(STR_SPLIT('a,b,c', ','), 2, -1), ',')] ELSE STR_SPLIT('a,b,c', ',') END
-- athena result: [(['a', 'b,c'],)]

-- name: split_part
SELECT split_part('a,b,c', ',', 2)
-- duckdb: SELECT LIST_EXTRACT(STR_SPLIT('a,b,c', ','), 2)
-- athena result: [('b',)]

-- name: split_part_beyond_the_end
SELECT split_part('a,b', ',', 5)
-- duckdb: SELECT LIST_EXTRACT(STR_SPLIT('a,b', ','), 5)
-- athena result: [(None,)]

-- name: concat_ws_skips_null
SELECT concat_ws('-', 'a', NULL, 'c')
-- duckdb: SELECT CONCAT_WS('-', 'a', NULL, 'c')
-- athena result: [('a-c',)]

-- name: concat_with_null
SELECT concat('a', NULL, 'c'), 'a' || 'b'
-- duckdb: SELECT 'a' || NULL || 'c', 'a' || 'b'
-- athena result: [(None, 'ab')]

-- name: substr
SELECT substr('hello', 2, 3), substring('hello', 2), substr('hello', -3)
-- duckdb: SELECT SUBSTRING('hello', 2, 3), SUBSTRING('hello', 2), SUBSTRING('hello', -3)
-- athena result: [('ell', 'ello', 'llo')]

-- name: strpos_and_position
SELECT strpos('hello', 'l'), position('z' IN 'hello')
-- duckdb: SELECT STRPOS('hello', 'l'), STRPOS('hello', 'z')
-- athena result: [(3, 0)]

-- name: strpos_instance
SELECT strpos('hello', 'l', 2)
-- duckdb: SELECT CASE WHEN 'hello' IS NULL OR 'l' IS NULL OR 2 IS NULL THEN NULL WHEN 'l' = '' THEN 1 ELSE COALESCE(LIST_EXTRACT(LIST_FILTER(RANGE(1, LENGTH('hello') + 1), LAMBDA __i : SUBSTRING('hello', __i, LENGTH('l')) = 'l'), 2), 0) END
-- athena result: [(4,)]

-- name: length_unicode
SELECT length('héllo')
-- duckdb: SELECT LENGTH('héllo')
-- athena result: [(5,)]

-- name: lower_upper_trim
SELECT lower('AbC'), upper('AbC'), trim('  x  '), ltrim('  x'), rtrim('x  ')
-- duckdb: SELECT LOWER('AbC'), UPPER('AbC'), TRIM('  x  '), LTRIM('  x'), RTRIM('x  ')
-- athena result: [('abc', 'ABC', 'x', 'x', 'x')]

-- name: trim_characters
SELECT trim(BOTH 'x' FROM 'xxaxx')
-- duckdb: SELECT TRIM('xxaxx', 'x')
-- athena result: [('a',)]

-- name: lpad_rpad
SELECT lpad('7', 3, '0'), rpad('7', 3, '0'), lpad('12345', 3, '0')
-- duckdb: SELECT LPAD('7', 3, '0'), RPAD('7', 3, '0'), LPAD('12345', 3, '0')
-- athena result: [('007', '700', '123')]

-- name: replace_and_reverse
SELECT replace('abcabc', 'b', 'X'), replace('abcabc', 'b'), reverse('abc')
-- duckdb: SELECT REPLACE('abcabc', 'b', 'X'), REPLACE('abcabc', 'b', ''), REVERSE('abc')
-- athena result: [('aXcaXc', 'acac', 'cba')]

-- name: starts_with
SELECT starts_with('hello', 'he')
-- duckdb: SELECT STARTS_WITH('hello', 'he')
-- athena result: [(True,)]

-- name: like_escape
SELECT 'a_c' LIKE 'a\_c' ESCAPE '\', 'abc' LIKE 'a\_c' ESCAPE '\'
-- duckdb: SELECT 'a_c' LIKE 'a\_c' ESCAPE '\', 'abc' LIKE 'a\_c' ESCAPE '\'
-- athena result: [(True, False)]

-- name: string_comparison_is_case_sensitive
SELECT 'A' = 'a', 'B' < 'a'
-- duckdb: SELECT 'A' = 'a', 'B' < 'a'
-- athena result: [(False, True)]

-- name: levenshtein_distance
SELECT levenshtein_distance('kitten', 'sitting')
-- duckdb: SELECT LEVENSHTEIN('kitten', 'sitting')
-- athena result: [(3,)]

-- name: hamming_distance
SELECT hamming_distance('abc', 'abd')
-- duckdb: SELECT HAMMING('abc', 'abd')
-- athena result: [(1,)]

-- name: md5_to_hex
SELECT to_hex(md5(to_utf8('a')))
-- duckdb: SELECT HEX(UNHEX(MD5(ENCODE('a'))))
-- athena result: [('0CC175B9C0F1B6A831C399E269772661',)]

-- name: utf8_round_trip
SELECT from_utf8(to_utf8('héllo'))
-- duckdb: SELECT DECODE(ENCODE('héllo'))
-- athena result: [('héllo',)]

-- name: chr
SELECT chr(65)
-- duckdb: SELECT CHR(65)
-- athena result: [('A',)]

-- name: codepoint
SELECT codepoint('A')
-- duckdb: SELECT UNICODE('A')
-- athena result: [(65,)]

-- name: repeat_builds_an_array
SELECT repeat('ab', 3)
-- duckdb: SELECT REPEAT(['ab'], 3)
-- athena result: [(['ab', 'ab', 'ab'],)]

-- name: url_extract_host
SELECT url_extract_host('https://example.com/a?b=1')
-- duckdb: SELECT NULLIF(REGEXP_EXTRACT('https://example.com/a?b=1', '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//(?:[^/?#@]*@)?(\[[^\]/?#]*\]|[^:/?#]*)', 1), '')
-- athena result: [('example.com',)]

-- name: format
SELECT format('%s-%d', 'a', 5)
-- duckdb: SELECT PRINTF('%s-%d', 'a', 5)
-- athena result: [('a-5',)]

-- name: to_base
SELECT to_base(255, 16)
-- duckdb: SELECT CASE WHEN 255 < 0 THEN '-' || LOWER(TO_BASE(-255, 16)) ELSE LOWER(TO_BASE(255, 16)) END
-- athena result: [('ff',)]

-- name: from_base
SELECT from_base('ff', 16)
-- duckdb: SELECT CASE WHEN 'ff' IS NULL OR 16 IS NULL THEN NULL WHEN REGEXP_FULL_MATCH('ff', '[+-]?[0-9A-Za-z]+') AND LIST_MAX(LIST_TRANSFORM(STR_SPLIT(LOWER(LTRIM('ff', '+-')), ''), LAMBDA __c : STRPOS('0123456789abcdefghijklmnopqrstuvwxyz', __c) - 1)) < 16 THEN (CASE WHEN 'ff' LIKE '-%' THEN -1 ELSE 1 END) * LIST_REDUCE(LIST_TRANSFORM(STR_SPLIT(LOWER(LTRIM('ff', '+-')), ''), LAMBDA __c : STRPOS('0123456789abcdefghijklmnopqrstuvwxyz', __c) - 1), LAMBDA __a, __d : __a * 16 + __d, CAST(0 AS BIGINT)) ELSE ERROR('Not a valid base-' || 16 || ' number: ' || 'ff') END
-- athena result: [(255,)]

-- name: element_at_array
SELECT element_at(ARRAY[1, 2, 3], 2), element_at(ARRAY[1, 2, 3], -1), element_at(ARRAY[1, 2, 3], 5)
-- duckdb: SELECT [1, 2, 3][2], [1, 2, 3][-1], [1, 2, 3][5]
-- athena result: [(2, 3, None)]

-- name: element_at_map
SELECT element_at(MAP(ARRAY['a', 'b'], ARRAY[1, 2]), 'b'), element_at(MAP(ARRAY['a', 'b'], ARRAY[1, 2]), 'z')
-- duckdb: SELECT MAP(['a', 'b'], [1, 2])['b'], MAP(['a', 'b'], [1, 2])['z']
-- athena result: [(2, None)]

-- name: array_subscript
SELECT ARRAY[1, 2, 3][1]
-- duckdb: SELECT [1, 2, 3][1]
-- athena result: [(1,)]

-- name: cardinality_array
SELECT cardinality(ARRAY[1, 2, 3])
-- duckdb: SELECT CAST(CARDINALITY([1, 2, 3]) AS BIGINT)
-- athena result: [(3,)]

-- name: cardinality_map
SELECT cardinality(MAP(ARRAY['a', 'b'], ARRAY[1, 2]))
-- duckdb: SELECT CAST(CARDINALITY(MAP(['a', 'b'], [1, 2])) AS BIGINT)
-- athena result: [(2,)]

-- name: transform_lambda
SELECT transform(ARRAY[1, 2, 3], x -> x * 2)
-- duckdb: SELECT LIST_TRANSFORM([1, 2, 3], LAMBDA x : x * 2)
-- athena result: [([2, 4, 6],)]

-- name: filter_lambda
SELECT filter(ARRAY[1, 2, 3, 4], x -> x % 2 = 0)
-- duckdb: SELECT LIST_FILTER([1, 2, 3, 4], LAMBDA x : x % 2 = 0)
-- athena result: [([2, 4],)]

-- name: reduce_identity_finish
SELECT reduce(ARRAY[1, 2, 3], 0, (s, x) -> s + x, s -> s)
-- duckdb: SELECT LIST_REDUCE([1, 2, 3], LAMBDA s, x : s + x, 0)
-- athena result: [(6,)]

-- name: reduce_with_finish
SELECT reduce(ARRAY[1, 2, 3], 0, (s, x) -> s + x, s -> s * 10)
-- duckdb: SELECT CASE WHEN NOT [1, 2, 3] IS NULL THEN LIST_TRANSFORM([LIST_REDUCE([1, 2, 3], LAMBDA s, x : s + x, 0)], LAMBDA s : s * 10)[1] END
-- athena result: [(60,)]

-- name: any_match
SELECT any_match(ARRAY[1, 2], x -> x > 1)
-- duckdb: SELECT LIST_REDUCE(LIST_TRANSFORM([1, 2], LAMBDA x : x > 1), LAMBDA __p, __q : __p OR __q, FALSE)
-- athena result: [(True,)]

-- name: all_match
SELECT all_match(ARRAY[1, 2], x -> x > 1)
-- duckdb: SELECT LIST_REDUCE(LIST_TRANSFORM([1, 2], LAMBDA x : x > 1), LAMBDA __p, __q : __p AND __q, TRUE)
-- athena result: [(False,)]

-- name: array_join
SELECT array_join(ARRAY['a', 'b'], '-'), array_join(ARRAY['a', NULL, 'b'], '-')
-- duckdb: SELECT ARRAY_TO_STRING(['a', 'b'], '-'), ARRAY_TO_STRING(['a', NULL, 'b'], '-')
-- athena result: [('a-b', 'a-b')]

-- name: contains
SELECT contains(ARRAY[1, 2, 3], 2)
-- duckdb: SELECT ARRAY_CONTAINS([1, 2, 3], 2)
-- athena result: [(True,)]

-- name: array_distinct_keeps_order
SELECT array_distinct(ARRAY[3, 1, 3, 2])
-- duckdb: SELECT LIST_TRANSFORM([[3, 1, 3, 2]], LAMBDA __l : LIST_FILTER(__l, LAMBDA __x, __i : LIST_POSITION(__l, __x) = __i))[1]
-- athena result: [([3, 1, 2],)]

-- name: array_min_max_sort_position
SELECT array_min(ARRAY[3, 1]), array_max(ARRAY[1, 5, 2]), array_sort(ARRAY[3, 1, 2]), array_position(ARRAY[5, 6, 7], 6)
-- duckdb: SELECT LIST_MIN([3, 1]), LIST_MAX([1, 5, 2]), LIST_SORT([3, 1, 2]), ARRAY_POSITION([5, 6, 7], 6)
-- athena result: [(1, 5, [1, 2, 3], 2)]

-- name: array_remove
SELECT array_remove(ARRAY[1, 2, 1], 1)
-- duckdb: SELECT LIST_FILTER([1, 2, 1], LAMBDA _u : _u <> 1)
-- athena result: [([2],)]

-- name: slice
SELECT slice(ARRAY[1, 2, 3, 4], 2, 2)
-- duckdb: SELECT LIST_SLICE([1, 2, 3, 4], 2, 2 + 2 - 1)
-- athena result: [([2, 3],)]

-- name: sequence
SELECT sequence(1, 5), sequence(1, 10, 3)
-- duckdb: SELECT GENERATE_SERIES(1, 5), GENERATE_SERIES(1, 10, 3)
-- athena result: [([1, 2, 3, 4, 5], [1, 4, 7, 10])]

-- name: flatten
SELECT flatten(ARRAY[ARRAY[1, 2], ARRAY[3]])
-- duckdb: SELECT FLATTEN([[1, 2], [3]])
-- athena result: [([1, 2, 3],)]

-- name: array_intersect_except
SELECT array_intersect(ARRAY[1, 2], ARRAY[2, 3]), array_except(ARRAY[1, 2], ARRAY[2, 3])
-- duckdb: SELECT ARRAY_INTERSECT([1, 2], [2, 3]), CASE WHEN [1, 2] IS NULL OR [2, 3] IS NULL THEN NULL ELSE LIST_FILTER(LIST_DISTINCT([1, 2]), LAMBDA e : LENGTH(LIST_FILTER([2, 3], LAMBDA x : x IS NOT DISTINCT FROM e)) = 0) END
-- athena result: [([2], [1])]

-- name: array_union
SELECT array_union(ARRAY[1, 2], ARRAY[2, 3])
-- duckdb: SELECT LIST_TRANSFORM([([1, 2] || [2, 3])], LAMBDA __l : LIST_FILTER(__l, LAMBDA __x, __i : LIST_POSITION(__l, __x) = __i))[1]
-- athena result: [([1, 2, 3],)]

-- name: arrays_overlap
SELECT arrays_overlap(ARRAY[1, 2], ARRAY[2, 3])
-- duckdb: SELECT CASE WHEN [1, 2] IS NULL OR [2, 3] IS NULL THEN NULL WHEN LENGTH([1, 2]) = 0 OR LENGTH([2, 3]) = 0 THEN FALSE WHEN [1, 2] && [2, 3] THEN TRUE WHEN LIST_COUNT([1, 2]) < LENGTH([1, 2]) OR LIST_COUNT([2, 3]) < LENGTH([2, 3]) THEN NULL ELSE FALSE END
-- athena result: [(True,)]

-- name: concat_arrays
SELECT concat(ARRAY[1], ARRAY[2]), ARRAY[1, 2] || ARRAY[3]
-- duckdb: SELECT [1] || [2], [1, 2] || [3]
-- athena result: [([1, 2], [1, 2, 3])]

-- name: map_keys
SELECT map_keys(MAP(ARRAY['a'], ARRAY[1]))
-- duckdb: SELECT MAP_KEYS(MAP(['a'], [1]))
-- athena result: [(['a'],)]

-- name: unnest
SELECT x FROM UNNEST(ARRAY[1, 2]) AS t(x)
-- duckdb: SELECT x FROM UNNEST([1, 2]) AS t(x)
-- athena result: [(1,), (2,)]

-- name: unnest_with_ordinality
SELECT x, n FROM UNNEST(ARRAY['a', 'b']) WITH ORDINALITY AS t(x, n)
-- duckdb: SELECT x, n FROM UNNEST(['a', 'b']) WITH ORDINALITY AS t(x, n)
-- athena result: [('a', 1), ('b', 2)]

-- name: json_extract_scalar
SELECT json_extract_scalar('{"a": {"b": 5}}', '$.a.b'), json_extract_scalar('{"a": [10, 20]}', '$.a[1]')
-- duckdb: SELECT CASE WHEN NOT JSON_TYPE('{"a": {"b": 5}}', '$.a.b') IN ('OBJECT', 'ARRAY') THEN '{"a": {"b": 5}}' ->> '$.a.b' END, CASE WHEN NOT JSON_TYPE('{"a": [10, 20]}', '$.a[1]') IN ('OBJECT', 'ARRAY') THEN '{"a": [10, 20]}' ->> '$.a[1]' END
-- athena result: [('5', '20')]

-- name: json_extract_scalar_of_an_object
SELECT json_extract_scalar('{"a": {"b": 5}}', '$.a')
-- duckdb: SELECT CASE WHEN NOT JSON_TYPE('{"a": {"b": 5}}', '$.a') IN ('OBJECT', 'ARRAY') THEN '{"a": {"b": 5}}' ->> '$.a' END
-- athena result: [(None,)]

-- name: json_extract
SELECT json_extract('{"a": {"b": 5}}', '$.a')
-- duckdb: SELECT '{"a": {"b": 5}}' -> '$.a'
-- athena result: [('{"b":5}',)]

-- name: json_array_length
SELECT json_array_length('[1,2,3]')
-- duckdb: SELECT JSON_ARRAY_LENGTH('[1,2,3]')
-- athena result: [(3,)]

-- name: json_format_parse
SELECT json_format(json_parse('{"a": 1}'))
-- duckdb: SELECT CAST(TO_JSON(JSON('{"a": 1}')) AS TEXT)
-- athena result: [('{"a":1}',)]

-- name: cast_json_to_array
SELECT CAST(json_parse('[1,2]') AS array(integer))
-- duckdb: SELECT CAST(JSON('[1,2]') AS INT[])
-- athena result: [([1, 2],)]

-- name: json_size
SELECT json_size('{"a": [1,2]}', '$.a')
-- duckdb: SELECT CASE WHEN JSON_TYPE('{"a": [1,2]}', '$.a') = 'ARRAY' THEN CAST(JSON_ARRAY_LENGTH('{"a": [1,2]}', '$.a') AS BIGINT) WHEN JSON_TYPE('{"a": [1,2]}', '$.a') = 'OBJECT' THEN LENGTH(JSON_KEYS('{"a": [1,2]}', '$.a')) WHEN NOT JSON_TYPE('{"a": [1,2]}', '$.a') IS NULL THEN 0 END
-- athena result: [(2,)]

-- name: integer_division
SELECT 7 / 2, -7 / 2, 7 % 3, mod(-7, 3)
-- duckdb: SELECT 7 / 2, -7 / 2, 7 % 3, -7 % 3
-- athena result: [(3, -3, 1, -1)]

-- name: decimal_division
SELECT 7 / 2.0, CAST(5 AS double) / 2
-- duckdb: SELECT 7 / 2.0, CAST(5 AS DOUBLE) / 2
-- athena result: [(Decimal('3.5'), 2.5)]

-- name: decimal_division_keeps_scale
SELECT 1.0 / 3
-- duckdb: SELECT 1.0 / 3
-- athena result: [(Decimal('0.3'),)]
-- wrong: Athena divides decimals keeping the larger scale (0.3); DuckDB divides as double (0.333...)

-- name: round_decimal
SELECT round(2.5), round(-2.5), round(1.005, 2)
-- duckdb: SELECT ROUND(2.5), ROUND(-2.5), ROUND(1.005, 2)
-- athena result: [(Decimal('3'), Decimal('-3'), Decimal('1.01'))]

-- name: round_double
SELECT round(2.5E0), round(-2.5E0)
-- duckdb: SELECT ROUND(2.5E0), ROUND(-2.5E0)
-- athena result: [(3.0, -3.0)]

-- name: truncate_ceil_floor
SELECT truncate(2.7), ceil(1.2), floor(-1.2)
-- duckdb: SELECT TRUNC(2.7), CEIL(1.2), FLOOR(-1.2)
-- athena result: [(Decimal('2'), Decimal('2'), Decimal('-2'))]

-- name: power_logs_sqrt
SELECT power(2, 10), ln(1), log10(100), log2(8), sqrt(16)
-- duckdb: SELECT POWER(2, 10), LN(1), LOG(10, 100), LOG(2, 8), SQRT(16)
-- athena result: [(1024.0, 0.0, 2.0, 3.0, 4.0)]

-- name: abs_sign
SELECT abs(-5), sign(-5)
-- duckdb: SELECT ABS(-5), SIGN(-5)
-- athena result: [(5, -1)]

-- name: e_and_pi
SELECT e(), pi()
-- duckdb: SELECT EXP(1), PI()
-- athena result: [(2.718281828459045, 3.141592653589793)]

-- name: infinity
SELECT infinity() > 1e308
-- duckdb: SELECT CAST('Infinity' AS DOUBLE) > 1e308
-- athena result: [(True,)]

-- name: nan
SELECT is_nan(nan())
-- duckdb: SELECT ISNAN(CAST('NaN' AS DOUBLE))
-- athena result: [(True,)]

-- name: width_bucket
SELECT width_bucket(5, 0, 10, 5)
-- duckdb: SELECT CASE WHEN 0 < 10 THEN CASE WHEN 5 < 0 THEN 0 WHEN 5 >= 10 THEN 5 + 1 ELSE CAST(FLOOR(CAST(5 - 0 AS DOUBLE) * 5 / (10 - 0)) AS BIGINT) + 1 END WHEN 0 > 10 THEN CASE WHEN 5 > 0 THEN 0 WHEN 5 <= 10 THEN 5 + 1 ELSE CAST(FLOOR(CAST(0 - 5 AS DOUBLE) * 5 / (0 - 10)) AS BIGINT) + 1 END WHEN 0 = 10 THEN ERROR('bounds cannot equal each other') END
-- athena result: [(3,)]

-- name: bitwise_and
SELECT bitwise_and(12, 10)
-- duckdb: SELECT 12 & 10
-- athena result: [(8,)]

-- name: cast_decimal_to_integer_rounds
SELECT CAST(1.9 AS integer), CAST(-1.5 AS bigint)
-- duckdb: SELECT CAST(1.9 AS INT), CAST(-1.5 AS BIGINT)
-- athena result: [(2, -2)]

-- name: cast_double_to_integer_half
SELECT CAST(2.5E0 AS integer), CAST(-2.5E0 AS integer)
-- duckdb: SELECT CAST(ROUND(2.5E0) AS INT), CAST(ROUND(-2.5E0) AS INT)
-- athena result: [(3, -3)]

-- name: cast_double_to_varchar
SELECT CAST(1.5E0 AS varchar)
-- duckdb: SELECT CAST(1.5E0 AS TEXT)
-- athena result: [('1.5E0',)]
-- wrong: Athena prints doubles in scientific notation ('1.5E0'); DuckDB prints '1.5'

-- name: cast_to_decimal_and_varchar
SELECT CAST(3.14159 AS decimal(4, 2)), CAST(1 AS varchar), CAST(true AS varchar), CAST('ab' AS varchar(5))
-- duckdb: SELECT CAST(3.14159 AS DECIMAL(4, 2)), CAST(1 AS TEXT), CAST(TRUE AS TEXT), CAST('ab' AS TEXT(5))
-- athena result: [(Decimal('3.14'), '1', 'true', 'ab')]

-- name: try_cast_and_try
SELECT try_cast('abc' AS integer), try_cast('12' AS integer), try(1 / 0), TRY(CAST('x' AS integer))
-- duckdb: SELECT TRY_CAST('abc' AS INT), TRY_CAST('12' AS INT), TRY(1 / 0), TRY(CAST('x' AS INT))
-- athena result: [(None, 12, None, None)]

-- name: greatest_least
SELECT greatest(1, 5, 3), least(1, 5, 3), greatest(1, NULL)
-- duckdb: SELECT CASE WHEN 1 IS NULL OR 5 IS NULL OR 3 IS NULL THEN NULL ELSE GREATEST(1, 5, 3) END, CASE WHEN 1 IS NULL OR 5 IS NULL OR 3 IS NULL THEN NULL ELSE LEAST(1, 5, 3) END, CASE WHEN 1 IS NULL OR NULL IS NULL THEN NULL ELSE GREATEST(1, NULL) END
-- athena result: [(5, 1, None)]

-- name: if_nullif_coalesce
SELECT if(1 > 0, 'y', 'n'), nullif(1, 1), coalesce(NULL, 2)
-- duckdb: SELECT CASE WHEN 1 > 0 THEN 'y' ELSE 'n' END, NULLIF(1, 1), COALESCE(NULL, 2)
-- athena result: [('y', None, 2)]

-- name: typeof
SELECT typeof(1)
-- duckdb: SELECT TYPEOF(1)
-- athena result: [('integer',)]
-- wrong: DuckDB's TYPEOF names types its own way ('INTEGER'); not rewritten, as other engine tests (schema evolution, time travel) read DuckDB's names through typeof()

-- name: uuid
SELECT uuid() IS NOT NULL
-- duckdb: SELECT NOT UUID() IS NULL
-- athena result: [(True,)]

-- name: is_distinct_from
SELECT CAST(NULL AS integer) IS DISTINCT FROM 1, NULL IS NOT DISTINCT FROM NULL
-- duckdb: SELECT CAST(NULL AS INT) IS DISTINCT FROM 1, NULL IS NOT DISTINCT FROM NULL
-- athena result: [(True, True)]

-- name: between_in_case
SELECT 5 BETWEEN 1 AND 10, 'a' IN ('a', 'b'), CASE WHEN 1 > 2 THEN 'a' ELSE 'b' END
-- duckdb: SELECT 5 BETWEEN 1 AND 10, 'a' IN ('a', 'b'), CASE WHEN 1 > 2 THEN 'a' ELSE 'b' END
-- athena result: [(True, True, 'b')]

-- name: offset_before_limit
SELECT x FROM (VALUES (1), (2), (3)) AS t(x) ORDER BY x OFFSET 1 LIMIT 1
-- duckdb: SELECT x FROM (VALUES (1), (2), (3)) AS t(x) ORDER BY x LIMIT 1 OFFSET 1
-- athena result: [(2,)]

-- name: fetch_first
SELECT x FROM (VALUES (1), (2), (3)) AS t(x) ORDER BY x OFFSET 1 ROWS FETCH NEXT 1 ROWS ONLY
-- duckdb: SELECT x FROM (VALUES (1), (2), (3)) AS t(x) ORDER BY x LIMIT 1 OFFSET 1
-- athena result: [(2,)]

-- name: order_nulls_last_by_default
SELECT x FROM (VALUES (1), (NULL), (2)) AS t(x) ORDER BY x
-- duckdb: SELECT x FROM (VALUES (1), (NULL), (2)) AS t(x) ORDER BY x
-- athena result: [(1,), (2,), (None,)]

-- name: order_desc_nulls_last_by_default
SELECT x FROM (VALUES (1), (NULL), (2)) AS t(x) ORDER BY x DESC
-- duckdb: SELECT x FROM (VALUES (1), (NULL), (2)) AS t(x) ORDER BY x DESC
-- athena result: [(2,), (1,), (None,)]

-- name: values_without_parentheses
SELECT x FROM (VALUES 1, 2) AS t(x)
-- duckdb: SELECT x FROM (VALUES (1), (2)) AS t(x)
-- athena result: [(1,), (2,)]

-- name: date_trunc_on_a_date_column
SELECT date_trunc('month', d), date_trunc('week', d) FROM (VALUES DATE '2024-03-15', NULL) AS t(d)
-- duckdb: SELECT TIME_BUCKET(INTERVAL '1' MONTH, d), TIME_BUCKET(INTERVAL '7' DAYS, d) FROM (VALUES (CAST('2024-03-15' AS DATE)), (NULL)) AS t(d)
-- athena result: [(date(2024, 3, 1), date(2024, 3, 11)), (None, None)]

-- name: date_trunc_on_a_timestamp_column
SELECT date_trunc('quarter', ts), date_trunc('hour', ts) FROM (VALUES TIMESTAMP '2024-05-17 10:11:12', NULL) AS t(ts)
-- duckdb: SELECT TIME_BUCKET(INTERVAL '3' MONTHS, ts), TIME_BUCKET(INTERVAL '1' HOUR, ts) FROM (VALUES (CAST('2024-05-17 10:11:12' AS TIMESTAMP(0))), (NULL)) AS t(ts)
-- athena result: [(datetime(2024, 4, 1, 0, 0), datetime(2024, 5, 17, 10, 0)), (None, None)]

-- name: date_minus_interval_on_current_date
SELECT current_date - INTERVAL '1' DAY = date_add('day', -1, current_date), length(CAST(current_date - INTERVAL '1' DAY AS varchar))
-- duckdb: SELECT CAST(CURRENT_DATE - INTERVAL '1' DAY AS DATE) = CAST(CURRENT_DATE + INTERVAL (-1) DAY AS DATE), LENGTH(CAST(CAST(CURRENT_DATE - INTERVAL '1' DAY AS DATE) AS TEXT))
-- athena result: [(True, 10)]

-- name: date_add_on_a_date_column
SELECT date_add('day', 1, d) FROM (VALUES DATE '2024-01-31') AS t(d)
-- duckdb: SELECT d + INTERVAL 1 DAY FROM (VALUES (CAST('2024-01-31' AS DATE))) AS t(d)
-- athena result: [(date(2024, 2, 1),)]
-- wrong: a column's type is unknown when the SQL is translated and DuckDB's DATE + INTERVAL is a TIMESTAMP, so the right day comes back as a timestamp at midnight (only a date the syntax shows, such as DATE '…' or current_date, stays a DATE)

-- name: date_diff_on_columns
SELECT date_diff('month', a, b), date_diff('day', a, b) FROM (VALUES (DATE '2024-01-31', DATE '2024-02-29'), (DATE '2024-03-15', DATE '2024-01-16'), (NULL, DATE '2024-01-01')) AS t(a, b)
-- duckdb: SELECT DATE_SUB('MONTH', a, b), DATE_SUB('DAY', a, b) FROM (VALUES (CAST('2024-01-31' AS DATE), CAST('2024-02-29' AS DATE)), (CAST('2024-03-15' AS DATE), CAST('2024-01-16' AS DATE)), (NULL, CAST('2024-01-01' AS DATE))) AS t(a, b)
-- athena result: [(1, 29), (-1, -59), (None, None)]

-- name: format_and_parse_datetime_on_columns
SELECT format_datetime(ts, 'dd/MM/yyyy HH:mm'), parse_datetime(s, 'dd/MM/yyyy') FROM (VALUES (TIMESTAMP '2024-03-05 14:07:09', '05/03/2024'), (NULL, NULL)) AS t(ts, s)
-- duckdb: SELECT STRFTIME(ts, '%d/%m/%Y %H:%M'), CAST(STRPTIME(s, '%d/%m/%Y') AS TIMESTAMPTZ) FROM (VALUES (CAST('2024-03-05 14:07:09' AS TIMESTAMP(0)), '05/03/2024'), (NULL, NULL)) AS t(ts, s)
-- athena result: [('05/03/2024 14:07', datetime(2024, 3, 5, 0, 0, tzinfo=UTC)), (None, None)]

-- name: to_iso8601_on_columns
SELECT to_iso8601(d), to_iso8601(ts) FROM (VALUES (DATE '2024-03-05', CAST('2024-03-05 14:07:09.5' AS timestamp(6))), (NULL, NULL)) AS t(d, ts)
-- duckdb: SELECT CASE TYPEOF(d) WHEN 'DATE' THEN STRFTIME(d, '%Y-%m-%d') WHEN 'TIMESTAMP_S' THEN STRFTIME(d, '%Y-%m-%dT%H:%M:%S') WHEN 'TIMESTAMP_MS' THEN STRFTIME(d, '%Y-%m-%dT%H:%M:%S.%g') WHEN 'TIMESTAMP_NS' THEN STRFTIME(d, '%Y-%m-%dT%H:%M:%S.%n') WHEN 'TIMESTAMP WITH TIME ZONE' THEN STRFTIME(d, '%Y-%m-%dT%H:%M:%S.%fZ') ELSE STRFTIME(d, '%Y-%m-%dT%H:%M:%S.%f') END, CASE TYPEOF(ts) WHEN 'DATE' THEN STRFTIME(ts, '%Y-%m-%d') WHEN 'TIMESTAMP_S' THEN STRFTIME(ts, '%Y-%m-%dT%H:%M:%S') WHEN 'TIMESTAMP_MS' THEN STRFTIME(ts, '%Y-%m-%dT%H:%M:%S.%g') WHEN 'TIMESTAMP_NS' THEN STRFTIME(ts, '%Y-%m-%dT%H:%M:%S.%n') WHEN 'TIMESTAMP WITH TIME ZONE' THEN STRFTIME(ts, '%Y-%m-%dT%H:%M:%S.%fZ') ELSE STRFTIME(ts, '%Y-%m-%dT%H:%M:%S.%f') END FROM (VALUES (CAST('2024-03-05' AS DATE), CAST('2024-03-05 14:07:09.5' AS TIMESTAMP(6))), (NULL, NULL)) AS t(d, ts)
-- athena result: [('2024-03-05', '2024-03-05T14:07:09.500000'), (None, None)]

-- name: regexp_extract_on_a_column
SELECT regexp_extract(s, '[0-9]+'), regexp_extract(s, 'x*') FROM (VALUES 'ab12', 'abc', NULL) AS t(s)
-- duckdb: SELECT CASE WHEN REGEXP_MATCHES(s, '[0-9]+') THEN REGEXP_EXTRACT(s, '[0-9]+') END, CASE WHEN REGEXP_MATCHES(s, 'x*') THEN REGEXP_EXTRACT(s, 'x*') END FROM (VALUES ('ab12'), ('abc'), (NULL)) AS t(s)
-- athena result: [('12', ''), (None, ''), (None, None)]

-- name: regexp_replace_escaped_dollar
SELECT regexp_replace('a1', '([a-z])(\d)', '\$$2$1')
-- duckdb: SELECT REGEXP_REPLACE('a1', '([a-z])(\d)', '$\2\1', 'g')
-- athena result: [('$1a',)]

-- name: split_part_and_split_on_a_column
SELECT split_part(s, ',', 2), split(s, ',', 2) FROM (VALUES 'a,,c', 'a', NULL) AS t(s)
-- duckdb: SELECT LIST_EXTRACT(STR_SPLIT(s, ','), 2), CASE WHEN LENGTH(STR_SPLIT(s, ',')) > 2 THEN LIST_SLICE(STR_SPLIT(s, ','), 1, 2 - 1) || [ARRAY_TO_STRING(LIST_SLICE(STR_SPLIT(s, ','), 2, -1), ',')] ELSE STR_SPLIT(s, ',') END FROM (VALUES ('a,,c'), ('a'), (NULL)) AS t(s)
-- athena result: [('', ['a', ',c']), (None, ['a']), (None, None)]

-- name: strpos_instance_from_the_end
SELECT strpos(s, 'aa', 2), strpos(s, 'aa', -1) FROM (VALUES 'aaab', NULL) AS t(s)
-- duckdb: SELECT CASE WHEN s IS NULL OR 'aa' IS NULL OR 2 IS NULL THEN NULL WHEN 'aa' = '' THEN 1 ELSE COALESCE(LIST_EXTRACT(LIST_FILTER(RANGE(1, LENGTH(s) + 1), LAMBDA __i : SUBSTRING(s, __i, LENGTH('aa')) = 'aa'), 2), 0) END, CASE WHEN s IS NULL OR 'aa' IS NULL OR -1 IS NULL THEN NULL WHEN 'aa' = '' THEN 1 ELSE COALESCE(LIST_EXTRACT(LIST_FILTER(RANGE(1, LENGTH(s) + 1), LAMBDA __i : SUBSTRING(s, __i, LENGTH('aa')) = 'aa'), -1), 0) END FROM (VALUES ('aaab'), (NULL)) AS t(s)
-- athena result: [(2, 2), (None, None)]

-- name: url_extract_host_with_user_and_port
SELECT url_extract_host(u) FROM (VALUES 'https://user@Example.com:8080/a', 'mailto:a@b.com', NULL) AS t(u)
-- duckdb: SELECT NULLIF(REGEXP_EXTRACT(u, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//(?:[^/?#@]*@)?(\[[^\]/?#]*\]|[^:/?#]*)', 1), '') FROM (VALUES ('https://user@Example.com:8080/a'), ('mailto:a@b.com'), (NULL)) AS t(u)
-- athena result: [('Example.com',), (None,), (None,)]

-- name: from_base_and_to_base_negative
SELECT from_base('-ff', 16), to_base(-255, 16), to_base(x, 2) FROM (VALUES 5, NULL) AS t(x)
-- duckdb: SELECT CASE WHEN '-ff' IS NULL OR 16 IS NULL THEN NULL WHEN REGEXP_FULL_MATCH('-ff', '[+-]?[0-9A-Za-z]+') AND LIST_MAX(LIST_TRANSFORM(STR_SPLIT(LOWER(LTRIM('-ff', '+-')), ''), LAMBDA __c : STRPOS('0123456789abcdefghijklmnopqrstuvwxyz', __c) - 1)) < 16 THEN (CASE WHEN '-ff' LIKE '-%' THEN -1 ELSE 1 END) * LIST_REDUCE(LIST_TRANSFORM(STR_SPLIT(LOWER(LTRIM('-ff', '+-')), ''), LAMBDA __c : STRPOS('0123456789abcdefghijklmnopqrstuvwxyz', __c) - 1), LAMBDA __a, __d : __a * 16 + __d, CAST(0 AS BIGINT)) ELSE ERROR('Not a valid base-' || 16 || ' number: ' || '-ff') END, CASE WHEN -255 < 0 THEN '-' || LOWER(TO_BASE(- -255, 16)) ELSE LOWER(TO_BASE(-255, 16)) END, CASE WHEN x < 0 THEN '-' || LOWER(TO_BASE(-x, 2)) ELSE LOWER(TO_BASE(x, 2)) END FROM (VALUES (5), (NULL)) AS t(x)
-- athena result: [(-255, '-ff', '101'), (-255, '-ff', None)]

-- name: match_functions_with_nulls
SELECT any_match(a, x -> x > 1), all_match(a, x -> x > 1), none_match(a, x -> x > 1) FROM (VALUES ARRAY[1, NULL], ARRAY[2, NULL], ARRAY[], NULL) AS t(a)
-- duckdb: SELECT LIST_REDUCE(LIST_TRANSFORM(a, LAMBDA x : x > 1), LAMBDA __p, __q : __p OR __q, FALSE), LIST_REDUCE(LIST_TRANSFORM(a, LAMBDA x : x > 1), LAMBDA __p, __q : __p AND __q, TRUE), NOT (LIST_REDUCE(LIST_TRANSFORM(a, LAMBDA x : x > 1), LAMBDA __p, __q : __p OR __q, FALSE)) FROM (VALUES ([1, NULL]), ([2, NULL]), ([]), (NULL)) AS t(a)
-- athena result: [(None, False, None), (True, None, False), (False, True, True), (None, None, None)]

-- name: array_distinct_and_union_with_null
SELECT array_distinct(a), array_union(a, ARRAY['c', NULL]) FROM (VALUES ARRAY['b', NULL, 'a', 'b'], NULL) AS t(a)
-- duckdb: SELECT LIST_TRANSFORM([a], LAMBDA __l : LIST_FILTER(__l, LAMBDA __x, __i : LIST_POSITION(__l, __x) = __i))[1], LIST_TRANSFORM([(a || ['c', NULL])], LAMBDA __l : LIST_FILTER(__l, LAMBDA __x, __i : LIST_POSITION(__l, __x) = __i))[1] FROM (VALUES (['b', NULL, 'a', 'b']), (NULL)) AS t(a)
-- athena result: [(['b', None, 'a'], ['b', None, 'a', 'c']), (None, None)]

-- name: arrays_overlap_with_null
SELECT arrays_overlap(a, b) FROM (VALUES (ARRAY[1, NULL], ARRAY[3]), (ARRAY[1, NULL], ARRAY[1]), (ARRAY[], ARRAY[NULL]), (NULL, ARRAY[1])) AS t(a, b)
-- duckdb: SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL WHEN LENGTH(a) = 0 OR LENGTH(b) = 0 THEN FALSE WHEN a && b THEN TRUE WHEN LIST_COUNT(a) < LENGTH(a) OR LIST_COUNT(b) < LENGTH(b) THEN NULL ELSE FALSE END FROM (VALUES ([1, NULL], [3]), ([1, NULL], [1]), ([], [NULL]), (NULL, [1])) AS t(a, b)
-- athena result: [(None,), (True,), (False,), (None,)]

-- name: slice_from_the_end
SELECT slice(a, -2, 5), slice(a, -5, 2), slice(a, s, 1) FROM (VALUES (ARRAY[1, 2, 3, 4], 2), (NULL, 1)) AS t(a, s)
-- duckdb: SELECT LIST_SLICE(a, CASE WHEN -2 > 0 THEN -2 WHEN LENGTH(a) + -2 >= 0 THEN LENGTH(a) + -2 + 1 ELSE LENGTH(a) + 1 END, CASE WHEN -2 > 0 THEN -2 WHEN LENGTH(a) + -2 >= 0 THEN LENGTH(a) + -2 + 1 ELSE LENGTH(a) + 1 END + 5 - 1), LIST_SLICE(a, CASE WHEN -5 > 0 THEN -5 WHEN LENGTH(a) + -5 >= 0 THEN LENGTH(a) + -5 + 1 ELSE LENGTH(a) + 1 END, CASE WHEN -5 > 0 THEN -5 WHEN LENGTH(a) + -5 >= 0 THEN LENGTH(a) + -5 + 1 ELSE LENGTH(a) + 1 END + 2 - 1), LIST_SLICE(a, CASE WHEN s > 0 THEN s WHEN LENGTH(a) + s >= 0 THEN LENGTH(a) + s + 1 ELSE LENGTH(a) + 1 END, CASE WHEN s > 0 THEN s WHEN LENGTH(a) + s >= 0 THEN LENGTH(a) + s + 1 ELSE LENGTH(a) + 1 END + 1 - 1) FROM (VALUES ([1, 2, 3, 4], 2), (NULL, 1)) AS t(a, s)
-- athena result: [([3, 4], [], [2]), (None, None, None)]

-- name: cardinality_of_columns
SELECT cardinality(a), cardinality(m) FROM (VALUES (ARRAY[1, 2], MAP(ARRAY['a'], ARRAY[1])), (NULL, NULL)) AS t(a, m)
-- duckdb: SELECT CAST(CARDINALITY(a) AS BIGINT), CAST(CARDINALITY(m) AS BIGINT) FROM (VALUES ([1, 2], MAP(['a'], [1])), (NULL, NULL)) AS t(a, m)
-- athena result: [(2, 1), (None, None)]

-- name: repeat_and_reduce_on_columns
SELECT repeat(x, 2), reduce(a, 0, (s, y) -> s + y, s -> coalesce(s, 0) * 10) FROM (VALUES ('z', ARRAY[1, 2]), (NULL, NULL)) AS t(x, a)
-- duckdb: SELECT REPEAT([x], 2), CASE WHEN NOT a IS NULL THEN LIST_TRANSFORM([LIST_REDUCE(a, LAMBDA s, y : s + y, 0)], LAMBDA s : COALESCE(s, 0) * 10)[1] END FROM (VALUES ('z', [1, 2]), (NULL, NULL)) AS t(x, a)
-- athena result: [(['z', 'z'], 30), ([None, None], None)]

-- name: map_agg_skips_null_keys
SELECT cardinality(map_agg(k, v)), element_at(map_agg(k, v), 'b') FROM (VALUES ('a', 1), (NULL, 2), ('b', NULL)) AS t(k, v)
-- duckdb: SELECT CAST(CARDINALITY(MAP_FROM_ENTRIES(LIST_TRANSFORM([LIST_SORT(ARRAY_AGG({'k': k, 'v': v}) FILTER(WHERE NOT k IS NULL))], LAMBDA __e : LIST_FILTER(__e, LAMBDA __x, __i : __i = 1 OR __e[__i - 1].k <> __x.k))[1])) AS BIGINT), MAP_FROM_ENTRIES(LIST_TRANSFORM([LIST_SORT(ARRAY_AGG({'k': k, 'v': v}) FILTER(WHERE NOT k IS NULL))], LAMBDA __e : LIST_FILTER(__e, LAMBDA __x, __i : __i = 1 OR __e[__i - 1].k <> __x.k))[1])['b'] FROM (VALUES ('a', 1), (NULL, 2), ('b', NULL)) AS t(k, v)
-- athena result: [(2, None)]

-- name: json_functions_on_a_column
SELECT json_extract_scalar(j, '$.a'), json_size(j, '$.a') FROM (VALUES '{"a": [1, 2]}', '{"a": "s"}', '{"b": 1}', NULL) AS t(j)
-- duckdb: SELECT CASE WHEN NOT JSON_TYPE(j, '$.a') IN ('OBJECT', 'ARRAY') THEN j ->> '$.a' END, CASE WHEN JSON_TYPE(j, '$.a') = 'ARRAY' THEN CAST(JSON_ARRAY_LENGTH(j, '$.a') AS BIGINT) WHEN JSON_TYPE(j, '$.a') = 'OBJECT' THEN LENGTH(JSON_KEYS(j, '$.a')) WHEN NOT JSON_TYPE(j, '$.a') IS NULL THEN 0 END FROM (VALUES ('{"a": [1, 2]}'), ('{"a": "s"}'), ('{"b": 1}'), (NULL)) AS t(j)
-- athena result: [(None, 2), ('s', 0), (None, None), (None, None)]

-- name: width_bucket_outside_and_descending
SELECT width_bucket(x, 0, 10, 5), width_bucket(x, 10, 0, 5) FROM (VALUES -1, 10, NULL) AS t(x)
-- duckdb: SELECT CASE WHEN 0 < 10 THEN CASE WHEN x < 0 THEN 0 WHEN x >= 10 THEN 5 + 1 ELSE CAST(FLOOR(CAST(x - 0 AS DOUBLE) * 5 / (10 - 0)) AS BIGINT) + 1 END WHEN 0 > 10 THEN CASE WHEN x > 0 THEN 0 WHEN x <= 10 THEN 5 + 1 ELSE CAST(FLOOR(CAST(0 - x AS DOUBLE) * 5 / (0 - 10)) AS BIGINT) + 1 END WHEN 0 = 10 THEN ERROR('bounds cannot equal each other') END, CASE WHEN 10 < 0 THEN CASE WHEN x < 10 THEN 0 WHEN x >= 0 THEN 5 + 1 ELSE CAST(FLOOR(CAST(x - 10 AS DOUBLE) * 5 / (0 - 10)) AS BIGINT) + 1 END WHEN 10 > 0 THEN CASE WHEN x > 10 THEN 0 WHEN x <= 0 THEN 5 + 1 ELSE CAST(FLOOR(CAST(10 - x AS DOUBLE) * 5 / (10 - 0)) AS BIGINT) + 1 END WHEN 10 = 0 THEN ERROR('bounds cannot equal each other') END FROM (VALUES (-1), (10), (NULL)) AS t(x)
-- athena result: [(0, 6), (6, 1), (None, None)]

-- name: cast_double_expression_to_integer_half
SELECT CAST(x * 1.0E0 AS integer) FROM (VALUES 2.5E0, -2.5E0) AS t(x)
-- duckdb: SELECT CAST(ROUND(x * 1.0E0) AS INT) FROM (VALUES (2.5E0), (-2.5E0)) AS t(x)
-- athena result: [(3,), (-3,)]

-- name: cast_double_column_to_integer_half
SELECT CAST(x AS integer) FROM (VALUES 2.5E0, -2.5E0) AS t(x)
-- duckdb: SELECT CAST(x AS INT) FROM (VALUES (2.5E0), (-2.5E0)) AS t(x)
-- athena result: [(3,), (-3,)]
-- wrong: a column's type is unknown when the SQL is translated, so the cast is left to DuckDB, which rounds a DOUBLE half to even (2, -2); only a double the syntax shows (2.5E0, CAST(… AS double), x * 1.0E0) is rounded first

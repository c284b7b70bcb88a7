-- explore.sql: a first look at a table of videos before training, with
-- the claim extension's workbench functions. It repeats the Keras
-- notebook's exploration: missing values, class balance, summary
-- statistics and a histogram per class, and two plots as SVG files.
--
-- The script expects a table videos with the dataset's columns, imported
-- from a CSV file with a header row into a new table (importing into an
-- existing table would add the header row as data), and the extension
-- loaded. From the repository root, after `make fixtures`:
--
--   sqlite3 videos.db '.import --csv fixtures/videos.csv videos'
--   sqlite3 -cmd '.load build/claim' videos.db < sql/explore.sql
--
-- or, inside the sqlite3 shell (3.35 or later):
--
--   .load build/claim
--   .import --csv fixtures/videos.csv videos
--   .read sql/explore.sql
--
-- fixtures/videos.csv is the generated dataset that `make fixtures` (and
-- `make test` or `make demo`) writes; the real tiktok_dataset.csv has the
-- same columns.
--
-- The plots go to the current directory, or to the directory named by the
-- shell parameter @plot_dir (writefile() creates it when missing):
--
--   .parameter set @plot_dir plots
--
-- Open the .svg files in a web browser. The script only reads videos: it
-- creates no table and changes no row.
--
-- .import --csv stores every cell as TEXT, so a count arrives as '343296'
-- and an empty cell as ''. The workbench functions read numeric TEXT as
-- numbers and treat NULL and '' as missing.

-- Stop at the first error, and print results as tables.
.bail on
.mode box

-- Step 1: missing values. The notebook's data.isna().sum(): for each
-- column, the rows where the cell is NULL or the empty string (an empty
-- CSV field). Training skips rows whose label is missing. It rejects an
-- empty count, unless the option "on_invalid" is "skip".
.print
.print Missing values per column (NULL or empty)
SELECT 'claim_status' AS "column",
       sum(claim_status IS NULL OR claim_status = '') AS missing
  FROM videos
UNION ALL SELECT 'video_id', sum(video_id IS NULL OR video_id = '')
  FROM videos
UNION ALL SELECT 'video_duration_sec',
       sum(video_duration_sec IS NULL OR video_duration_sec = '')
  FROM videos
UNION ALL SELECT 'video_transcription_text',
       sum(video_transcription_text IS NULL OR video_transcription_text = '')
  FROM videos
UNION ALL SELECT 'verified_status',
       sum(verified_status IS NULL OR verified_status = '')
  FROM videos
UNION ALL SELECT 'author_ban_status',
       sum(author_ban_status IS NULL OR author_ban_status = '')
  FROM videos
UNION ALL SELECT 'video_view_count',
       sum(video_view_count IS NULL OR video_view_count = '')
  FROM videos
UNION ALL SELECT 'video_like_count',
       sum(video_like_count IS NULL OR video_like_count = '')
  FROM videos
UNION ALL SELECT 'video_share_count',
       sum(video_share_count IS NULL OR video_share_count = '')
  FROM videos
UNION ALL SELECT 'video_download_count',
       sum(video_download_count IS NULL OR video_download_count = '')
  FROM videos
UNION ALL SELECT 'video_comment_count',
       sum(video_comment_count IS NULL OR video_comment_count = '')
  FROM videos;

-- Step 2: class balance. The share of the larger class is the accuracy
-- of a model that always predicts that class. So with an even split, an
-- accuracy near 0.5 means that the model learned nothing.
.print
.print Class balance
SELECT claim_status,
       count(*) AS rows,
       round(100.0 * count(*) / (SELECT count(*) FROM videos), 2) AS percent
  FROM videos
  GROUP BY claim_status
  ORDER BY claim_status;

-- Step 3: summary statistics per class. claim_describe(source, by) is a
-- table-valued function with one row per numeric column and value of by.
-- A row has the count of values that are not missing, the mean, the
-- sample standard deviation, the minimum, the 25th, 50th and 75th
-- percentiles and the maximum, as pandas' describe() computes them. "#"
-- and video_id are numbers but not measurements, so they are left out.
-- Large gaps between the classes' medians (p50) mark the columns that
-- separate claims from opinions.
.print
.print Summary statistics per class
SELECT "column", by_value AS claim_status, count,
       round(mean, 1) AS mean, round(std, 1) AS std,
       min, p25, p50, p75, max
  FROM claim_describe('videos', 'claim_status')
  WHERE "column" NOT IN ('#', 'video_id');

-- Step 4: the duration histogram per class. claim_histogram(source,
-- column, bins, by) counts the values of one column in bins of equal
-- width shared by every class, so the counts of a bin compare directly.
-- Each bin includes its lower edge, and the last bin also includes its
-- upper edge. Durations run from 5 to 60 seconds in the dataset, so 11
-- bins are 5 seconds wide. The query puts the two classes side by side.
-- "count" is quoted because it is also the name of a SQL function.
.print
.print Video duration (seconds): rows per bin and class
SELECT bin,
       round(lower, 2) AS lower,
       round(upper, 2) AS upper,
       sum("count") FILTER (WHERE by_value = 'claim') AS claim,
       sum("count") FILTER (WHERE by_value = 'opinion') AS opinion
  FROM claim_histogram('videos', 'video_duration_sec', 11, 'claim_status')
  GROUP BY bin
  ORDER BY bin;

-- Step 5: the plots, as SVG files. Each claim_plot_*() function returns a
-- whole SVG document as TEXT, and the shell's writefile(path, data)
-- writes it and returns the number of bytes written.
--
-- claim_plot_histogram(source, column, by, bins) draws the counts of
-- step 4, one colored layer per class. claim_plot_scatter(source, by)
-- draws the five engagement counts against each other on log axes, as
-- seaborn's pairplot: a histogram per count on the diagonal, a scatter
-- plot per pair below it, at most 1000 points.
-- writefile() returns NULL when it cannot write, so the last column shows
-- whether each file was written.
.print
.print Plots written
SELECT file, bytes,
       CASE WHEN bytes IS NULL
            THEN 'not written: check that the directory is writable'
            ELSE 'ok' END AS status
FROM (
  SELECT coalesce(@plot_dir, '.') || '/duration_histogram.svg' AS file,
         writefile(coalesce(@plot_dir, '.') || '/duration_histogram.svg',
                   claim_plot_histogram('videos', 'video_duration_sec',
                                        'claim_status', 11)) AS bytes
  UNION ALL
  SELECT coalesce(@plot_dir, '.') || '/counts_scatter.svg',
         writefile(coalesce(@plot_dir, '.') || '/counts_scatter.svg',
                   claim_plot_scatter('videos', 'claim_status')));

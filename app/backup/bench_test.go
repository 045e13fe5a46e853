package backup_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"site/app/backup"
	"site/app/backup/backuptest"
	"site/app/benchdoc"
)

// benchObjects is the number of objects of the no-change benchmark.
const benchObjects = 10_000

// benchDoc is docs/benchmarks.md, made absolute before the object server
// changes the working directory.
var benchDoc, _ = filepath.Abs("../../docs/benchmarks.md")

// BenchmarkNoChangeDaily times a daily run with nothing to copy over
// 10,000 objects (public 6,000, private 3,000, backup 1,000, 1 kB each)
// against `rclone sync --checksum` of the same three buckets into an
// up-to-date copy on the same "AWS" server, run in the same process and
// measured alternately, three rclone processes at once as our run lists the
// three buckets at once. It writes the medians and their ratio to the
// "## Backups" section of docs/benchmarks.md. Without rclone on PATH it
// skips. Run: go test ./app/backup -run '^$' -bench NoChangeDaily -benchtime 5x
func BenchmarkNoChangeDaily(b *testing.B) {
	rclone, err := exec.LookPath("rclone")
	if err != nil {
		b.Skip("rclone not installed (Debian: apt-get install rclone)")
	}
	ctx := context.Background()
	src := backuptest.MustSource(b)
	aws := backuptest.MustAWS(b)
	sc := backuptest.MustS3(b, src)
	fill(b, sc)
	o := &backup.Offsite{Source: src, Target: aws, Bucket: backuptest.OffsiteBucket, Prefix: "site/", Progress: time.Minute}
	if err := o.Open(ctx); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	st, err := o.Daily(ctx)
	if err != nil || st.Copied != benchObjects {
		b.Fatalf("first run: %+v, %v", st, err)
	}
	b.Logf("first run copied %d objects in %s", st.Copied, time.Since(start))

	env := append(os.Environ(), "RCLONE_CONFIG="+filepath.Join(b.TempDir(), "none.conf"))
	for name, e := range map[string]backup.Endpoint{"SRC": src, "DST": aws} {
		p := "RCLONE_CONFIG_" + name + "_"
		env = append(env, p+"TYPE=s3", p+"PROVIDER=Other", p+"ENDPOINT="+e.URL, p+"ACCESS_KEY_ID="+e.AccessKey,
			p+"SECRET_ACCESS_KEY="+e.SecretKey, p+"REGION=us-east-1", p+"FORCE_PATH_STYLE=true")
	}
	rcloneSync := func() (time.Duration, string) {
		start := time.Now()
		var wg sync.WaitGroup
		outs := make([]string, 3)
		for i, bucket := range []string{"public", "private", "backup"} {
			wg.Go(func() {
				cmd := exec.Command(rclone, "sync", "--checksum", "--stats-one-line", "-v",
					"SRC:"+bucket, "DST:"+backuptest.OffsiteBucket+"/rclone/daily/"+bucket)
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Errorf("rclone sync %s: %v\n%s", bucket, err, out)
				}
				outs[i] = string(out)
			})
		}
		wg.Wait()
		return time.Since(start), strings.Join(outs, "")
	}
	if d, _ := rcloneSync(); d > 0 {
		b.Logf("rclone first sync took %s", d)
	}

	var ours, theirs []time.Duration
	copiedRe := regexp.MustCompile(`Transferred:\s+(\d+) / (\d+)`)
	for b.Loop() {
		start := time.Now()
		st, err := o.Daily(ctx)
		d := time.Since(start)
		if err != nil || st.Copied != 0 || st.Bytes != 0 || st.Checked != benchObjects {
			b.Fatalf("no-change run: %+v, %v", st, err)
		}
		ours = append(ours, d)
		b.StopTimer()
		rd, out := rcloneSync()
		for _, m := range copiedRe.FindAllStringSubmatch(out, -1) {
			if m[1] != "0" {
				b.Errorf("rclone no-change sync transferred %s files:\n%s", m[1], out)
			}
		}
		theirs = append(theirs, rd)
		b.StartTimer()
	}
	mo, mr := median(ours), median(theirs)
	ratio := float64(mo) / float64(mr)
	b.ReportMetric(float64(mo.Milliseconds()), "ours-ms")
	b.ReportMetric(float64(mr.Milliseconds()), "rclone-ms")
	b.ReportMetric(ratio, "ratio")
	verdict := "meets"
	if ratio > 0.5 {
		verdict = "MISSES"
	}
	section := fmt.Sprintf(`## Backups

No-change daily offsite run over %s objects (public 6,000, private 3,000,
backup 1,000; 1 kB each): the embedded object server as the source, a second
objects server on loopback as the "AWS" target. Reference: `+"`rclone sync --checksum`"+`
(Debian's %s) of the same three buckets into an up-to-date copy on the same
target, three rclone processes at once (our run lists the three buckets at
once), measured alternately in the same run; medians of %d runs each.

| run | median | runs |
|---|---|---|
| site daily (manifest) | %s | %s |
| rclone sync --checksum | %s | %s |

Ratio: **%.2f×** rclone's time (target ≤ 0.5×: %s). Measured %s on %s.

Why it is faster: a run lists the source buckets once and reads the tier's
manifest (one gzip object) instead of listing the tier; nothing is written
when nothing changed. The same guarantee as rclone's listing of the target:
a tier changed behind our back is found by the weekly verify, which lists the
tier, corrects the manifest, and the next run copies the difference (tested
in app/backup TestVerify). Reproduce: `+"`go test ./app/backup -run '^$' -bench NoChangeDaily -benchtime 5x`"+`.
`, "10,000", rcloneVersion(rclone), len(ours), mo.Round(time.Millisecond), list(ours), mr.Round(time.Millisecond), list(theirs),
		ratio, verdict, time.Now().UTC().Format("2006-01-02"), machine())
	if err := benchdoc.WriteSection(benchDoc, "## Backups", section); err != nil {
		b.Error(err)
	}
	b.Logf("\n%s", section)
}

// fill puts benchObjects small objects into the three source buckets.
func fill(b *testing.B, c *s3.Client) {
	b.Helper()
	type obj struct{ bucket, key string }
	jobs := make(chan obj)
	var wg sync.WaitGroup
	body := strings.Repeat("x", 1000)
	for range 32 {
		wg.Go(func() {
			for o := range jobs {
				_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(o.key),
					Body: strings.NewReader(body + o.key), ContentLength: aws.Int64(int64(len(body) + len(o.key)))})
				if err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range benchObjects {
		bucket := "public"
		if i >= 6000 {
			bucket = "private"
		}
		if i >= 9000 {
			bucket = "backup"
		}
		jobs <- obj{bucket, fmt.Sprintf("dir%02d/object-%05d.bin", i%50, i)}
	}
	close(jobs)
	wg.Wait()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func list(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.Round(time.Millisecond).String())
	}
	return strings.Join(parts, ", ")
}

func rcloneVersion(path string) string {
	out, err := exec.Command(path, "version").Output()
	if err != nil {
		return "rclone"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first)
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`model name\s*:\s*(.+)`).FindSubmatch(b); m != nil {
			cpu = strings.TrimSpace(string(m[1]))
		}
	}
	return fmt.Sprintf("%s, %d cores", cpu, numCPU())
}

func numCPU() int { return runtime.NumCPU() }

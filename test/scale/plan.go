package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/trove"
)

// A plan is the data set to generate, decided before anything is written:
// the same Options give the same plan, so that two runs (one through the
// bulk writer, one through the real publish path) can be compared.
type plan struct {
	opts     Options
	users    []string // maintainer names
	packages []*plannedPackage
	versions int // in all
}

// A plannedPackage is one package and the versions it gets, in publish order.
type plannedPackage struct {
	index    int
	name     trove.Name
	owner    int // index into plan.users
	real     bool
	versions []plannedVersion
	// deps are indexes of earlier packages this package's versions depend on.
	deps []int
	// yank lists indexes into versions to yank afterwards; deprecate says
	// whether every version is deprecated afterwards; coOwner is a second
	// owner added afterwards (-1: none).
	yank      []int
	deprecate bool
	coOwner   int
}

// A plannedVersion is one publish.
type plannedVersion struct {
	version string
	tag     string // the dist-tag the publish sets: latest or next
}

// Epoch is the simulated time of the first publish; each later log
// record is a step later, so that times grow with the log.
var Epoch = time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)

// recordStep is the simulated time between two log records.
const recordStep = 61*time.Second + 237*time.Millisecond

// newPlan decides the data set of o.
func newPlan(o Options) (*plan, error) {
	if o.Packages < 1 || o.Versions < o.Packages {
		return nil, fmt.Errorf("need at least one package and at least as many versions as packages (have %d packages, %d versions)", o.Packages, o.Versions)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x7a11))
	p := &plan{opts: o}
	for i := range max(2, o.Packages/1000) {
		p.users = append(p.users, fmt.Sprintf("scale-m%03d", i))
	}
	counts := versionCounts(o.Packages, o.Versions, o.MaxVersions)
	rng.Shuffle(len(counts), func(i, j int) { counts[i], counts[j] = counts[j], counts[i] })
	names := packageNames(o.Packages, rng)
	scopeOwner := map[string]int{}
	for i, n := range names {
		pp := &plannedPackage{index: i, name: n, owner: rng.IntN(len(p.users)), coOwner: -1}
		if ns := (npm.Rules{}).Namespace(n); ns.Key != "" {
			// A scope is created by its first package's owner; only
			// owners of the scope's packages may add packages to it.
			if o, ok := scopeOwner[ns.Key]; ok {
				pp.owner = o
			} else {
				scopeOwner[ns.Key] = pp.owner
			}
		}
		pp.real = o.RealEvery > 0 && i%o.RealEvery == o.RealEvery-1
		pp.versions = versionList(counts[i], rng)
		if i > 0 {
			for range rng.IntN(4) {
				pp.deps = append(pp.deps, rng.IntN(i))
			}
		}
		p.decideChanges(pp, rng)
		p.packages = append(p.packages, pp)
		p.versions += len(pp.versions)
	}
	return p, nil
}

// decideChanges picks what happens to a package after its publishes:
// about 2% of packages with several versions get one to three yanked,
// 1% are deprecated whole, 3% get a second owner.
func (p *plan) decideChanges(pp *plannedPackage, rng *rand.Rand) {
	n := len(pp.versions)
	if n > 1 && rng.IntN(50) == 0 {
		seen := map[int]bool{}
		for range 1 + rng.IntN(min(3, n-1)) {
			// Never the newest: its tag stays where it is.
			v := rng.IntN(n - 1)
			if !seen[v] {
				seen[v] = true
				pp.yank = append(pp.yank, v)
			}
		}
		sort.Ints(pp.yank)
	}
	pp.deprecate = rng.IntN(100) == 0
	if len(p.users) > 1 && rng.IntN(33) == 0 {
		pp.coOwner = (pp.owner + 1 + rng.IntN(len(p.users)-1)) % len(p.users)
	}
}

// versionCounts returns n version counts summing to total, none above
// maxv: a discrete power law (P(k) ∝ k^-s), whose exponent is chosen so
// that the mean is total/n. Most packages get one or a few versions; a
// few get hundreds or thousands, as in public registries.
func versionCounts(n, total, maxv int) []int {
	maxv = max(1, min(maxv, total-n+1))
	mean := float64(total) / float64(n)
	lo, hi := 0.0, 6.0
	for range 60 {
		s := (lo + hi) / 2
		if powerMean(s, maxv) > mean {
			lo = s
		} else {
			hi = s
		}
	}
	s := (lo + hi) / 2
	// Counts at evenly spaced quantiles of the distribution.
	cdf := make([]float64, maxv+1)
	z := 0.0
	for k := 1; k <= maxv; k++ {
		z += math.Pow(float64(k), -s)
		cdf[k] = z
	}
	counts := make([]int, n)
	sum := 0
	for i := range n {
		q := (float64(i) + 0.5) / float64(n) * z
		counts[i] = max(1, sort.SearchFloat64s(cdf[1:], q)+1)
		sum += counts[i]
	}
	// Hit the total exactly: the difference goes to the largest packages
	// (or comes off them), within the bounds.
	sort.Sort(sort.Reverse(sort.IntSlice(counts)))
	for i := 0; sum != total; i = (i + 1) % n {
		switch {
		case sum < total && counts[i] < maxv:
			counts[i]++
			sum++
		case sum > total && counts[i] > 1:
			counts[i]--
			sum--
		}
	}
	return counts
}

// powerMean is the mean of P(k) ∝ k^-s on 1..maxv.
func powerMean(s float64, maxv int) float64 {
	var num, den float64
	for k := 1; k <= maxv; k++ {
		w := math.Pow(float64(k), -s)
		num += float64(k) * w
		den += w
	}
	return num / den
}

// words make package names that read like names.
var words = []string{"alpha", "bolt", "cedar", "delta", "ember", "flux", "grid", "harbor", "iris", "jade", "kite",
	"lumen", "maple", "nova", "orbit", "pixel", "quartz", "river", "sable", "tango", "umber", "vortex", "willow",
	"xenon", "yarrow", "zephyr", "parse", "fetch", "cache", "stream", "tree", "queue", "route", "store", "format"}

// packageNames returns n distinct npm names, a fifth of them scoped
// (about 50 packages to a scope), with distinct look-alike skeletons so
// that the real publish path takes every one of them.
func packageNames(n int, rng *rand.Rand) []trove.Name {
	rules := npm.Rules{}
	seen := map[string]bool{}
	out := make([]trove.Name, 0, n)
	scopes := max(1, n/250)
	for i := 0; len(out) < n; i++ {
		base := fmt.Sprintf("%s-%s-%x", words[rng.IntN(len(words))], words[rng.IntN(len(words))], i)
		if rng.IntN(5) == 0 {
			base = fmt.Sprintf("@team-%x/%s", rng.IntN(scopes), base)
		}
		name, err := rules.ParseName(base)
		if err != nil {
			panic(fmt.Sprintf("generated name %q: %v", base, err))
		}
		sk := rules.Skeleton(name)
		if seen[sk] {
			continue
		}
		seen[sk] = true
		out = append(out, name)
	}
	return out
}

// versionList returns n semver versions in publish order: patch releases,
// a minor release every few, a major one now and then, and one in twenty
// a prerelease of the next version, published under the "next" tag.
func versionList(n int, rng *rand.Rand) []plannedVersion {
	out := make([]plannedVersion, 0, n)
	major, minor, patch, pre := 0, 1, 0, 0 // the next version to release
	for range n {
		if rng.IntN(20) == 0 && len(out) > 0 {
			pre++
			out = append(out, plannedVersion{version: fmt.Sprintf("%d.%d.%d-beta.%d", major, minor, patch, pre), tag: "next"})
			continue
		}
		out = append(out, plannedVersion{version: fmt.Sprintf("%d.%d.%d", major, minor, patch), tag: "latest"})
		switch r := rng.IntN(100); {
		case r < 2:
			major, minor, patch = major+1, 0, 0
		case r < 15:
			minor, patch = minor+1, 0
		default:
			patch++
		}
		pre = 0
	}
	return out
}

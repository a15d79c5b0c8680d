package render_test

import (
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/origin/render"
)

// Rendering is a pure function of (site snapshot, audience, path, time).
func Example() {
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	r, err := render.New()
	if err != nil {
		log.Fatal(err)
	}
	body, ctype, err := r.Render(demo.Site(now), "", "/api/v2/status.json", now)
	if err != nil {
		log.Fatal(err)
	}
	var st struct {
		Page   struct{ Name string }
		Status struct{ Indicator string }
	}
	if err := json.Unmarshal(body, &st); err != nil {
		log.Fatal(err)
	}
	fmt.Println(ctype)
	fmt.Println(st.Page.Name, st.Status.Indicator)
	// Output:
	// application/json; charset=utf-8
	// Acme Cloud major
}

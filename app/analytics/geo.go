package analytics

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// UnknownCountry is the country of a view that no database places.
const UnknownCountry = "unknown"

// Geo looks addresses up in a MaxMind-format database (GeoIP2/GeoLite2
// Country or City, or the CC0 ip-location-db country database). A nil Geo,
// or one opened on "", answers UnknownCountry for every address.
type Geo struct {
	db *maxminddb.Reader
}

// OpenGeo opens the database at path; an empty path gives a Geo without a
// database.
func OpenGeo(path string) (*Geo, error) {
	if path == "" {
		return &Geo{}, nil
	}
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geo database %s: %w", path, err)
	}
	return &Geo{db: db}, nil
}

// Close releases the database.
func (g *Geo) Close() error {
	if g == nil || g.db == nil {
		return nil
	}
	return g.db.Close()
}

// geoRecord covers the MaxMind layout (country.iso_code, city.names.en)
// and the flat ip-location-db one (country_code).
type geoRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	CountryCode string `maxminddb:"country_code"`
}

// Locate returns the ISO country code and the English city name of addr:
// UnknownCountry and "" when there is no database, no match or an error.
func (g *Geo) Locate(addr netip.Addr) (country, city string) {
	if g == nil || g.db == nil || !addr.IsValid() {
		return UnknownCountry, ""
	}
	var rec geoRecord
	if err := g.db.Lookup(addr).Decode(&rec); err != nil {
		return UnknownCountry, ""
	}
	country = rec.Country.ISOCode
	if country == "" {
		country = rec.CountryCode
	}
	if country == "" {
		country = UnknownCountry
	}
	return country, rec.City.Names["en"]
}

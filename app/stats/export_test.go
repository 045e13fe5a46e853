package stats

// DaysOnly is reports reading the daily rollups alone, never the monthly
// ones or the daily totals: the reference of the tests and the benchmark.
func DaysOnly(reports *Reports) *Reports { return &Reports{DB: reports.DB, daysOnly: true} }

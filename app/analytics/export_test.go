package analytics

// DecodeBatch is decodeBatch, for the external tests.
var DecodeBatch = decodeBatch

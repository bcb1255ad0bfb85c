-- GET the URL given on the command line (discovery, JWKS).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

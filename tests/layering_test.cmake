# Fails if a file in sampling/ includes theory/ (or the reverse), or core/ includes
# anything above it. Run as: cmake -DROOT=<repo> -P layering_test.cmake
set(rules
  "sampling|theory/|validation/|cli/"
  "theory|sampling/|validation/|cli/"
  "core|sampling/|theory/|validation/|cli/")
set(violations "")
foreach(rule IN LISTS rules)
  string(REPLACE "|" ";" parts "${rule}")
  list(POP_FRONT parts folder)
  file(GLOB_RECURSE files "${ROOT}/${folder}/*.hpp" "${ROOT}/${folder}/*.cpp")
  foreach(f IN LISTS files)
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include")
    foreach(line IN LISTS lines)
      foreach(bad IN LISTS parts)
        if(line MATCHES "[\"<]${bad}")
          list(APPEND violations "${f}: ${line}")
        endif()
      endforeach()
    endforeach()
  endforeach()
endforeach()
if(violations)
  string(REPLACE ";" "\n" msg "${violations}")
  message(FATAL_ERROR "layering violations:\n${msg}")
endif()
message(STATUS "layering ok")

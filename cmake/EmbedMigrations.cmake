# aw_embed_migrations(TARGET DIR SYMBOL_PREFIX TEMPLATE OUTPUT)
#
# Embed every DIR/NNNN_name.sql (bytes, NUL-terminated, plus SHA-256) into
# TARGET, so `acteon-worker migrate` needs no source tree. TEMPLATE is a
# configure_file() input that places @AW_MIGRATION_DATA@ (one static byte
# array per file, named SYMBOL_PREFIX<i>) and @AW_MIGRATION_ENTRIES@ (one
# `{version, "file", sql, len, "sha256"},` initializer per file, in version
# order); OUTPUT is the generated .c file, added to TARGET's sources.
# Regenerated when a file is added, removed or edited (configure dependency).
# Refuses misnamed files, duplicate versions and an empty DIR.
function(aw_embed_migrations target dir prefix template output)
  file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${dir})
  file(GLOB files CONFIGURE_DEPENDS ${dir}/*.sql)
  list(SORT files)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${files})
  set(AW_MIGRATION_DATA "")
  set(AW_MIGRATION_ENTRIES "")
  set(versions "")
  set(i 0)
  foreach(f ${files})
    get_filename_component(name ${f} NAME)
    if(NOT name MATCHES "^0*([0-9]+)_[A-Za-z0-9_]+\\.sql$")
      message(FATAL_ERROR "${rel}/${name}: name it NNNN_name.sql")
    endif()
    set(version ${CMAKE_MATCH_1})
    if(version IN_LIST versions)
      message(FATAL_ERROR "${rel}: two files with version ${version}")
    endif()
    list(APPEND versions ${version})
    file(READ ${f} hex HEX)
    file(SHA256 ${f} sum)
    string(LENGTH "${hex}" len)
    math(EXPR len "${len} / 2")
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
    string(APPEND AW_MIGRATION_DATA
           "static const unsigned char ${prefix}${i}[] = {${bytes}0x00};\n")
    string(APPEND AW_MIGRATION_ENTRIES
           "    {${version}, \"${name}\", (const char *)${prefix}${i}, ${len}, \"${sum}\"},\n")
    math(EXPR i "${i} + 1")
  endforeach()
  if(i EQUAL 0)
    message(FATAL_ERROR "no ${rel}/*.sql found")
  endif()
  configure_file(${template} ${output} @ONLY)
  target_sources(${target} PRIVATE ${output})
endfunction()

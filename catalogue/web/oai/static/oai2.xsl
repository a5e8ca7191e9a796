<?xml version="1.0" encoding="UTF-8"?>
<!-- Renders OAI-PMH responses as HTML in a browser; harvesters ignore it. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:oai="http://www.openarchives.org/OAI/2.0/"
    exclude-result-prefixes="oai">
  <xsl:output method="html" encoding="UTF-8"/>

  <xsl:template match="/oai:OAI-PMH">
    <xsl:variable name="base" select="oai:request"/>
    <html>
      <head>
        <title>OAI-PMH <xsl:value-of select="oai:request/@verb"/></title>
        <style>
          body { font-family: sans-serif; margin: 2em; max-width: 70em; }
          table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
          td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left;
                   vertical-align: top; }
          .error { color: #a00; }
          pre { background: #f6f6f6; padding: 0.5em; overflow-x: auto; font-size: 85%; }
          nav a { margin-right: 1em; }
        </style>
      </head>
      <body>
        <h1>OAI-PMH <xsl:value-of select="oai:request/@verb"/></h1>
        <nav>
          <a href="?verb=Identify">Identify</a>
          <a href="?verb=ListMetadataFormats">ListMetadataFormats</a>
          <a href="?verb=ListSets">ListSets</a>
          <a href="?verb=ListIdentifiers&amp;metadataPrefix=oai_dc">ListIdentifiers</a>
          <a href="?verb=ListRecords&amp;metadataPrefix=oai_dc">ListRecords</a>
        </nav>
        <p>Response date <xsl:value-of select="oai:responseDate"/>,
           request to <code><xsl:value-of select="$base"/></code></p>
        <xsl:apply-templates select="oai:error"/>
        <xsl:apply-templates select="oai:Identify | oai:ListMetadataFormats | oai:ListSets
            | oai:ListIdentifiers | oai:ListRecords | oai:GetRecord"/>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="oai:error">
    <p class="error"><b><xsl:value-of select="@code"/></b>: <xsl:value-of select="."/></p>
  </xsl:template>

  <xsl:template match="oai:Identify">
    <table>
      <xsl:for-each select="*[not(self::oai:description)]">
        <tr><th><xsl:value-of select="local-name()"/></th><td><xsl:value-of select="."/></td></tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="oai:ListMetadataFormats">
    <table>
      <tr><th>prefix</th><th>schema</th><th>namespace</th></tr>
      <xsl:for-each select="oai:metadataFormat">
        <tr>
          <td><a href="?verb=ListRecords&amp;metadataPrefix={oai:metadataPrefix}">
            <xsl:value-of select="oai:metadataPrefix"/></a></td>
          <td><xsl:value-of select="oai:schema"/></td>
          <td><xsl:value-of select="oai:metadataNamespace"/></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="oai:ListSets">
    <table>
      <tr><th>setSpec</th><th>setName</th></tr>
      <xsl:for-each select="oai:set">
        <tr>
          <td><a href="?verb=ListRecords&amp;metadataPrefix=oai_dc&amp;set={oai:setSpec}">
            <xsl:value-of select="oai:setSpec"/></a></td>
          <td><xsl:value-of select="oai:setName"/></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="oai:ListIdentifiers | oai:ListRecords | oai:GetRecord">
    <table>
      <tr><th>identifier</th><th>datestamp</th><th>sets</th><th>metadata</th></tr>
      <xsl:for-each select="oai:header | oai:record">
        <xsl:variable name="h" select="self::oai:header | oai:header"/>
        <tr>
          <td>
            <a href="?verb=GetRecord&amp;metadataPrefix=oai_dc&amp;identifier={$h/oai:identifier}">
              <xsl:value-of select="$h/oai:identifier"/></a>
            <xsl:if test="$h/@status = 'deleted'"> (deleted)</xsl:if>
          </td>
          <td><xsl:value-of select="$h/oai:datestamp"/></td>
          <td><xsl:for-each select="$h/oai:setSpec">
            <xsl:value-of select="."/><br/></xsl:for-each></td>
          <td><xsl:for-each select="oai:metadata/*//*[normalize-space(text())]">
            <b><xsl:value-of select="local-name()"/></b>: <xsl:value-of select="."/><br/>
          </xsl:for-each></td>
        </tr>
      </xsl:for-each>
    </table>
    <xsl:variable name="token" select="oai:resumptionToken"/>
    <xsl:if test="$token">
      <p>
        Records <xsl:value-of select="$token/@cursor + 1"/> to
        <xsl:value-of select="$token/@cursor + count(oai:header | oai:record)"/> of
        <xsl:value-of select="$token/@completeListSize"/>.
        <xsl:if test="normalize-space($token)">
          <a href="?verb={../oai:request/@verb}&amp;resumptionToken={$token}">next page</a>
        </xsl:if>
      </p>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
